"""Workspace and channel lifecycle on Slack: uninstall and revocation purge, removal deactivates.

`app_uninstalled` and `tokens_revoked` (when bot tokens are revoked) purge the workspace's
channels, subscriptions and outbox and forget its installation; `channel_deleted` purges
that channel; the bot leaving or being removed from a channel, or the channel being
archived, deactivates it with the reason.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.domain.model import ChannelRef
from bot.ports.store import ChannelStore, StoreError

log = logging.getLogger(__name__)


def _team(body: dict[str, Any], event: dict[str, Any]) -> str:
    return str(body.get("team_id") or event.get("team") or event.get("channel_team") or "")


def _channel_id(event: dict[str, Any]) -> str:
    channel = event.get("channel")
    return str(channel.get("id") if isinstance(channel, dict) else channel or "")


class Lifecycle:
    """What the lifecycle events do to the store and the installation store."""

    def __init__(self, store: ChannelStore, installations: AsyncInstallationStore | None) -> None:
        self.store = store
        self.installations = installations

    async def purge_workspace(self, team_id: str, enterprise_id: str | None, why: str) -> None:
        """Forget everything about a workspace."""
        try:
            removed = await self.store.purge_workspace("slack", team_id)
            log.info("slack workspace %s %s: purged %s channel(s)", team_id, why, removed)
        except StoreError as exc:
            log.warning("could not purge slack workspace %s: %s", team_id, exc)
        if self.installations is not None:
            try:
                await self.installations.async_delete_all(
                    enterprise_id=enterprise_id, team_id=team_id
                )
            except NotImplementedError:
                await self.installations.async_delete_bot(
                    enterprise_id=enterprise_id, team_id=team_id
                )

    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a deleted channel."""
        try:
            await self.store.purge_channel(ref)
        except StoreError as exc:
            log.warning("could not purge %s: %s", ref.key, exc)

    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop sending to a channel, with the reason."""
        try:
            if await self.store.get_channel(ref) is not None:
                await self.store.deactivate(ref, reason)
        except StoreError as exc:
            log.warning("could not deactivate %s: %s", ref.key, exc)


def register_events(app: AsyncApp, lifecycle: Lifecycle) -> None:
    """Listen to the lifecycle events."""

    async def uninstalled(body: dict[str, Any], event: dict[str, Any]) -> None:
        team = _team(body, event)
        await lifecycle.purge_workspace(team, body.get("enterprise_id"), "uninstalled")

    async def revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):
            team = _team(body, event)
            await lifecycle.purge_workspace(team, body.get("enterprise_id"), "revoked")

    async def deleted(body: dict[str, Any], event: dict[str, Any]) -> None:
        await lifecycle.purge_channel(ChannelRef("slack", _team(body, event), _channel_id(event)))

    async def member_left(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("user") and event.get("user") == context.bot_user_id:
            ref = ChannelRef("slack", _team(body, event), _channel_id(event))
            await lifecycle.deactivate(ref, "slack: the bot was removed from the channel")

    async def bot_left(body: dict[str, Any], event: dict[str, Any]) -> None:
        ref = ChannelRef("slack", _team(body, event), _channel_id(event))
        await lifecycle.deactivate(ref, "slack: the bot left the channel")

    async def archived(body: dict[str, Any], event: dict[str, Any]) -> None:
        ref = ChannelRef("slack", _team(body, event), _channel_id(event))
        await lifecycle.deactivate(ref, "slack: is_archived")

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)
    app.event("channel_deleted")(deleted)
    app.event("group_deleted")(deleted)
    app.event("member_left_channel")(member_left)
    app.event("channel_left")(bot_left)
    app.event("group_left")(bot_left)
    app.event("channel_archive")(archived)
    app.event("group_archive")(archived)
