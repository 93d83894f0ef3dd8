"""Where Slack installations and OAuth states live: in the key-value namespace the bot's
store hands the Slack adapter (`slack`), so every bot instance on that store shares every
workspace's install. On Redis the keys are where they always were (`{prefix}slack:…`).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.ports.store import KeyValue

log = logging.getLogger(__name__)
STATE_SECONDS = 600


def _none(value: str | None) -> str:
    return value or "-"


class StoredInstallations(AsyncInstallationStore):
    """slack_sdk's async installation store on the bot's store: one JSON value per workspace
    (the latest install) and one field per installer."""

    def __init__(self, kv: KeyValue, client_id: str = "") -> None:
        self._kv = kv
        self._prefix = f"{client_id or 'app'}:"

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, kind: str, enterprise_id: str | None, team_id: str | None) -> str:
        return f"{self._prefix}{kind}:{_none(enterprise_id)}:{_none(team_id)}"

    async def async_save(self, installation: Installation) -> None:
        """Save the installation (latest and per installer) and its bot."""
        ent, team = installation.enterprise_id, installation.team_id
        if installation.is_enterprise_install:
            team = None
        value = json.dumps(installation.__dict__)
        key = self._key("installation", ent, team)
        await self._kv.set(key, value)
        await self._kv.set_field(key + ":users", _none(installation.user_id), value)
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        """Save the bot installation of a workspace."""
        team = None if bot.is_enterprise_install else bot.team_id
        await self._kv.set(self._key("bot", bot.enterprise_id, team), json.dumps(bot.__dict__))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's bot installation, if any."""
        team = None if is_enterprise_install else team_id
        raw = await self._kv.get(self._key("bot", enterprise_id, team))
        return None if raw is None else Bot(**json.loads(raw))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The installer's installation (or the latest one of the workspace)."""
        team = None if is_enterprise_install else team_id
        key = self._key("installation", enterprise_id, team)
        raw = await (self._kv.get_field(key + ":users", user_id) if user_id else self._kv.get(key))
        return None if raw is None else Installation(**json.loads(raw))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot."""
        await self._kv.delete(self._key("bot", enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget one installer's installation, or all of the workspace's."""
        key = self._key("installation", enterprise_id, team_id)
        if user_id:
            await self._kv.delete_field(key + ":users", user_id)
        else:
            await self._kv.delete(key, key + ":users")


class StoredOAuthStates(AsyncOAuthStateStore):
    """One-time OAuth states with a 10-minute expiry, shared by every instance."""

    def __init__(self, kv: KeyValue, expiration_seconds: int = STATE_SECONDS) -> None:
        self._kv = kv
        self._prefix = "oauth-state:"
        self._expiry = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new random state, valid once for ten minutes."""
        state = secrets.token_urlsafe(24)
        await self._kv.set(self._prefix + state, "1", ttl_seconds=self._expiry)
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state we issued and that has not expired."""
        return await self._kv.take(self._prefix + state) is not None


def installation_stores(
    kv: KeyValue, client_id: str = ""
) -> tuple[AsyncInstallationStore, AsyncOAuthStateStore]:
    """The installation and OAuth-state stores in the Slack adapter's namespace `kv`."""
    return StoredInstallations(kv, client_id), StoredOAuthStates(kv)
