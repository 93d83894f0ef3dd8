"""An in-memory store with the channel-side methods the Discord adapter uses.

The real SQLite/Redis implementations of `purge_channel`, `purge_workspace` and
`set_mention` land with the stores branch; until then the adapter's tests run on this
fake (the store contract tests cover the real ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain.model import (
    AlertEvent,
    Channel,
    ChannelRef,
    Language,
    Snooze,
    Subscription,
    SubscriptionKind,
)
from bot.ports.store import StoreError


class MemoryStore:
    """Channels and subscriptions in dicts; records purges."""

    url = "memory://"

    def __init__(self) -> None:
        self.channels: dict[ChannelRef, Channel] = {}
        self.subscriptions: dict[tuple[ChannelRef, str, str], Subscription] = {}
        self.purged_channels: list[ChannelRef] = []
        self.purged_workspaces: list[tuple[str, str]] = []
        self.rules: dict[ChannelRef, dict[str, str]] = {}
        self.held: dict[ChannelRef, list[str]] = {}
        self.requests: dict[tuple[ChannelRef, str], datetime] = {}

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel."""
        self.channels[channel.ref] = channel

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        return self.channels.get(ref)

    def _known(self, ref: ChannelRef) -> Channel:
        if ref not in self.channels:
            raise StoreError(f"unknown channel {ref.key}")
        return self.channels[ref]

    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a channel's language."""
        self.channels[ref] = replace(self._known(ref), language=language)

    async def set_timezone(self, ref: ChannelRef, zone: str | None) -> None:
        """Choose a channel's zone (None: follow its language)."""
        self.channels[ref] = replace(self._known(ref), timezone=zone)

    async def set_mention(self, ref: ChannelRef, mention: str | None) -> None:
        """Change who a channel's alerts ping."""
        self.channels[ref] = replace(self._known(ref), mention=mention)

    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel."""
        self.channels[ref] = replace(self._known(ref), active=False, inactive_reason=reason)

    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription."""
        self._known(subscription.channel)
        key = (subscription.channel, subscription.kind, subscription.rule_id)
        self.subscriptions[key] = subscription

    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription."""
        return self.subscriptions.pop((ref, kind, rule_id), None) is not None

    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions."""
        found = [s for (r, _, _), s in self.subscriptions.items() if r == ref]
        return sorted(found, key=lambda s: (s.kind, s.rule_id))

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """No alerts in this fake."""
        return []

    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a channel and its subscriptions."""
        self.channels.pop(ref, None)
        for key in [k for k in self.subscriptions if k[0] == ref]:
            del self.subscriptions[key]
        self.rules.pop(ref, None)
        self.held.pop(ref, None)
        self.purged_channels.append(ref)

    async def purge_workspace(self, platform: str, workspace_id: str) -> int:
        """Forget every channel of a workspace."""
        refs = [
            r for r in self.channels if r.platform == platform and r.workspace_id == workspace_id
        ]
        for ref in refs:
            await self.purge_channel(ref)
        self.purged_workspaces.append((platform, workspace_id))
        return len(refs)

    async def workspaces(self, platform: str) -> list[str]:
        """Workspaces with channels on `platform`."""
        return sorted({r.workspace_id for r in self.channels if r.platform == platform})

    async def set_muted(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str, muted: bool
    ) -> bool:
        """Mute or unmute one subscription."""
        found = self.subscriptions.get((ref, kind, rule_id))
        if found is None:
            return False
        self.subscriptions[(ref, kind, rule_id)] = replace(found, muted=muted)
        return True

    async def save_rule(self, ref: ChannelRef, name: str, expression: str) -> None:
        """Keep a named rule."""
        self._known(ref)
        self.rules.setdefault(ref, {})[name] = expression

    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        """The channel's saved rules, by name."""
        return dict(sorted(self.rules.get(ref, {}).items()))

    async def delete_rule(self, ref: ChannelRef, name: str) -> bool:
        """Forget a saved rule."""
        return self.rules.get(ref, {}).pop(name, None) is not None

    async def set_snooze(self, ref: ChannelRef, snooze: Snooze | None) -> None:
        """Pause or unpause a channel."""
        self.channels[ref] = replace(self._known(ref), snooze=snooze)

    async def hold_alerts(self, ref: ChannelRef, alert_ids: Sequence[str]) -> None:
        """Keep alert ids for the snooze's summary."""
        self.held.setdefault(ref, []).extend(alert_ids)

    async def end_snooze(self, ref: ChannelRef) -> tuple[Snooze | None, list[str]]:
        """End the snooze: what it was and what it held."""
        channel = self.channels.get(ref)
        snooze = channel.snooze if channel is not None else None
        if channel is not None:
            self.channels[ref] = replace(channel, snooze=None)
        return snooze, list(dict.fromkeys(self.held.pop(ref, [])))

    async def ended_snoozes(self, now: datetime) -> list[ChannelRef]:
        """Channels whose snooze has ended."""
        ended = [ref for ref, c in self.channels.items() if c.snooze and c.snooze.until <= now]
        return sorted(ended)

    async def set_watchlist(self, ref: ChannelRef, symbols: Sequence[str] | None) -> None:
        """The digest's symbols for a channel."""
        watch = None if symbols is None else tuple(symbols)
        self.channels[ref] = replace(self._known(ref), watchlist=watch)

    async def claim_request(
        self, ref: ChannelRef, name: str, now: datetime, min_interval_seconds: float
    ) -> datetime | None:
        """Record a request unless one came less than the interval before."""
        self._known(ref)
        before = self.requests.get((ref, name))
        if before is not None and (now - before).total_seconds() < min_interval_seconds:
            return before
        self.requests[(ref, name)] = now
        return None
