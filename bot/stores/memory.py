"""The in-memory store (`[store] url = "memory://"`): every role, kept in dicts, gone when
the process ends — for trying the bot and for tests.

`memory://` is a new, empty store each time it is opened; `memory://NAME` is one store per
name within the process (opening it again finds what was stored, like SQLite's shared
in-memory databases). The outbound path is in `memory_outbox.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

from bot.domain.chain import ChainLink
from bot.domain.model import (
    Channel,
    ChannelRef,
    Language,
    Snooze,
    Subscription,
    SubscriptionKind,
    stamp,
)
from bot.ports.store import StoreError, StoreHealth
from bot.stores.memory_outbox import MemoryOutbox, OutboundData

SubKey = tuple[str, SubscriptionKind, str]
"""(channel key, kind, rule id)."""


@dataclass
class MemoryData:
    """Everything one in-memory store holds."""

    channels: dict[str, Channel] = field(default_factory=dict)
    subscriptions: dict[SubKey, Subscription] = field(default_factory=dict)
    saved_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)
    requests: dict[tuple[str, str], datetime] = field(default_factory=dict)
    digests: dict[tuple[str, str], str] = field(default_factory=dict)
    runs: dict[str, float] = field(default_factory=dict)
    values: dict[tuple[str, str], tuple[str, float | None]] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    chains: dict[date, dict[str, str]] = field(default_factory=dict)
    out: OutboundData = field(default_factory=OutboundData)


class MemoryKeyValue:
    """One namespace of small values in the process's memory."""

    def __init__(self, data: MemoryData, namespace: str, now: Callable[[], float]) -> None:
        self.namespace = namespace
        self._data = data
        self._now = now

    def _live(self, key: str) -> str | None:
        found = self._data.values.get((self.namespace, key))
        if found is None:
            return None
        value, expires = found
        if expires is not None and expires <= self._now():
            del self._data.values[(self.namespace, key)]
            return None
        return value

    async def get(self, key: str) -> str | None:
        """The key's value, or None (also once it expired)."""
        return self._live(key)

    async def set(
        self, key: str, value: str, *, ttl_seconds: float | None = None, only_new: bool = False
    ) -> bool:
        """Store `value`; with `only_new`, only into an empty (or expired) key."""
        if only_new and self._live(key) is not None:
            return False
        expires = None if ttl_seconds is None else self._now() + ttl_seconds
        self._data.values[(self.namespace, key)] = (value, expires)
        return True

    async def take(self, key: str) -> str | None:
        """Read and delete the key's value."""
        value = self._live(key)
        self._data.values.pop((self.namespace, key), None)
        return value

    async def delete(self, *keys: str) -> None:
        """Forget these keys, values and fields alike."""
        for key in keys:
            self._data.values.pop((self.namespace, key), None)
            self._data.fields.pop((self.namespace, key), None)

    async def get_field(self, key: str, field: str) -> str | None:
        """One field of the key, or None."""
        return self._data.fields.get((self.namespace, key), {}).get(field)

    async def set_field(self, key: str, field: str, value: str) -> None:
        """Store one field of the key."""
        self._data.fields.setdefault((self.namespace, key), {})[field] = value

    async def delete_field(self, key: str, field: str) -> None:
        """Forget one field of the key."""
        self._data.fields.get((self.namespace, key), {}).pop(field, None)


class MemoryStore(MemoryOutbox):
    """Every store role in this process's memory; nothing survives the process."""

    _named: ClassVar[dict[str, MemoryData]] = {}
    """`memory://NAME` stores of this process, by name."""

    def __init__(
        self, url: str = "memory://", *, time_source: Callable[[], float] = time.time
    ) -> None:
        self.url = url
        self.time = time_source
        """Real time (epoch seconds) for leases, due times, back-off and expiry."""
        name = url.removeprefix("memory://").strip("/")
        self.data = self._named.setdefault(name, MemoryData()) if name else MemoryData()
        self.out = self.data.out

    async def open(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to release (a named store keeps its data for the next open)."""

    async def health(self) -> StoreHealth:
        """Always reachable; keeps nothing."""
        why = "in memory: nothing is kept when the process ends"
        return StoreHealth("memory", f"{self.url} (this process only)", "warn", why)

    def run_lock(self) -> Path | None:
        """None: each process has a store of its own."""
        return None

    def keyvalue(self, namespace: str) -> MemoryKeyValue:
        """An adapter's key-value namespace."""
        return MemoryKeyValue(self.data, namespace, self.time)

    # -- channels -------------------------------------------------------------------------

    def _known(self, ref: ChannelRef) -> Channel:
        found = self.data.channels.get(ref.key)
        if found is None:
            raise StoreError(f"unknown channel {ref.key}")
        return found

    def _active(self, ref: ChannelRef) -> bool:
        found = self.data.channels.get(ref.key)
        return found is not None and found.active

    def _change(self, ref: ChannelRef, **changes: object) -> None:
        self.data.channels[ref.key] = replace(self._known(ref), **changes)  # type: ignore[arg-type]

    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel (its subscriptions stay)."""
        watch = None if channel.watchlist is None else tuple(channel.watchlist)
        stored = replace(channel, timezone=channel.timezone or None, watchlist=watch)
        self.data.channels[channel.ref.key] = stored

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        return self.data.channels.get(ref.key)

    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language."""
        self._change(ref, language=language)

    async def set_timezone(self, ref: ChannelRef, zone: str | None) -> None:
        """Choose a known channel's zone (None: follow its language)."""
        self._change(ref, timezone=zone or None)

    async def set_mention(self, ref: ChannelRef, mention: str | None) -> None:
        """Set (or clear) who the channel's alerts ping."""
        self._change(ref, mention=mention)

    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel, remembering why."""
        self._change(ref, active=False, inactive_reason=reason)

    # -- subscriptions --------------------------------------------------------------------

    def _forget_state(self, rule_id: str, key: str) -> None:
        self.out.triggers.get(key, {}).pop(rule_id, None)

    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace (channel, kind, rule_id); the channel must exist."""
        s = subscription
        self._known(s.channel)
        key: SubKey = (s.channel.key, s.kind, s.rule_id)
        before = self.data.subscriptions.get(key)
        if (
            s.kind == "alert"
            and before is not None
            and (before.policy.text(), before.expression) != (s.policy.text(), s.expression)
        ):
            self._forget_state(s.rule_id, s.channel.key)
        self.data.subscriptions[key] = s

    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription; False if there was none."""
        found = self.data.subscriptions.pop((ref.key, kind, rule_id), None)
        if kind == "alert":
            self._forget_state(rule_id, ref.key)
        return found is not None

    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""
        found = [s for (key, _, _), s in self.data.subscriptions.items() if key == ref.key]
        return sorted(found, key=lambda s: (s.kind, s.rule_id))

    def _live(self, now: datetime) -> list[Subscription]:
        today = now.date()
        return sorted(
            (
                s
                for s in self.data.subscriptions.values()
                if self._active(s.channel)
                and not s.muted
                and (s.expires is None or s.expires >= today)
            ),
            key=lambda s: (s.channel.key, s.rule_id),
        )

    async def recipients(
        self, rule_id: str, *, now: datetime, kind: SubscriptionKind = "alert"
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now`, not muted."""
        return [s for s in self._live(now) if s.rule_id == rule_id and s.kind == kind]

    async def custom_rules(self, now: datetime) -> list[Subscription]:
        """Alert subscriptions with an expression, of active channels, not expired, not muted."""
        return [s for s in self._live(now) if s.kind == "alert" and s.expression is not None]

    async def set_muted(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str, muted: bool
    ) -> bool:
        """Mute or unmute one subscription; False if there is none."""
        key: SubKey = (ref.key, kind, rule_id)
        found = self.data.subscriptions.get(key)
        if found is None:
            return False
        self.data.subscriptions[key] = replace(found, muted=muted)
        return True

    # -- saved rules, snoozes, watch lists, requests -------------------------------------

    async def save_rule(self, ref: ChannelRef, name: str, expression: str) -> None:
        """Keep a named rule in the channel's book (replacing one of that name)."""
        self._known(ref)
        self.data.saved_rules.setdefault(ref.key, {})[name] = expression

    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        """The channel's saved rules, name → expression, by name."""
        return dict(sorted(self.data.saved_rules.get(ref.key, {}).items()))

    async def delete_rule(self, ref: ChannelRef, name: str) -> bool:
        """Forget a saved rule; False if there was none."""
        return self.data.saved_rules.get(ref.key, {}).pop(name, None) is not None

    async def set_snooze(self, ref: ChannelRef, snooze: Snooze | None) -> None:
        """Pause a known channel's alerts, or clear the pause (held alerts are kept)."""
        self._change(ref, snooze=snooze)

    async def hold_alerts(self, ref: ChannelRef, alert_ids: Sequence[str]) -> None:
        """Keep alert ids that came during a snooze, in order."""
        self.data.held.setdefault(ref.key, []).extend(alert_ids)

    async def end_snooze(self, ref: ChannelRef) -> tuple[Snooze | None, list[str]]:
        """End the snooze now: the snooze it had and the alert ids it held, both cleared."""
        channel = self.data.channels.get(ref.key)
        snooze = None if channel is None else channel.snooze
        if channel is not None:
            self.data.channels[ref.key] = replace(channel, snooze=None)
        return snooze, list(dict.fromkeys(self.data.held.pop(ref.key, [])))

    async def ended_snoozes(self, now: datetime) -> list[ChannelRef]:
        """Channels whose snooze ended at or before `now`."""
        return [
            c.ref
            for key, c in sorted(self.data.channels.items())
            if c.snooze is not None and c.snooze.until <= now
        ]

    async def set_watchlist(self, ref: ChannelRef, symbols: Sequence[str] | None) -> None:
        """The symbols a known channel's digest covers; None: the configured default."""
        self._change(ref, watchlist=None if symbols is None else tuple(symbols))

    async def claim_request(
        self, ref: ChannelRef, name: str, now: datetime, min_interval_seconds: float
    ) -> datetime | None:
        """Record a request at `now` unless one came less than the interval before; None when
        recorded, else that earlier time."""
        self._known(ref)
        before = self.data.requests.get((ref.key, name))
        if before is not None and (now - before).total_seconds() < min_interval_seconds:
            return before
        self.data.requests[(ref.key, name)] = now
        return None

    # -- purging, run claims, digest slots -----------------------------------------------

    def _purge(self, keys: list[str]) -> int:
        for key in keys:
            self.data.channels.pop(key, None)
            for sub in [k for k in self.data.subscriptions if k[0] == key]:
                del self.data.subscriptions[sub]
            for table in (self.data.saved_rules, self.data.held):
                table.pop(key, None)
            for pairs in (self.data.requests, self.data.digests):
                for pair in [p for p in pairs if p[0] == key]:
                    del pairs[pair]
            self.forget_channel(key)
        return len(keys)

    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a channel: its subscriptions, trigger state, history and pending items."""
        self._purge([ref.key])

    async def purge_workspace(self, platform: str, workspace_id: str) -> int:
        """Purge every channel of a workspace; how many."""
        keys = [
            key
            for key, c in self.data.channels.items()
            if (c.ref.platform, c.ref.workspace_id) == (platform, workspace_id)
        ]
        return self._purge(keys)

    async def workspaces(self, platform: str) -> list[str]:
        """Workspace ids with stored channels on `platform`, sorted."""
        refs = [c.ref for c in self.data.channels.values()]
        return sorted({r.workspace_id for r in refs if r.platform == platform})

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        """True for exactly one caller per (job id, scheduled time); a claim only expires."""
        now = self.time()
        key = f"{job_id}|{stamp(scheduled)}"
        expires = self.data.runs.get(key)
        if expires is not None and expires > now:
            return False
        self.data.runs[key] = now + ttl_seconds
        return True

    async def last_digest(self, subscription: Subscription) -> datetime | None:
        """When the subscription's previous digest was queued (None: never)."""
        text = self.data.digests.get((subscription.channel.key, subscription.rule_id))
        return None if text is None else datetime.fromisoformat(text)

    async def record_digest(self, subscription: Subscription, at: datetime) -> bool:
        """Remember that slot `at` was queued; False if it (or a later one) already was."""
        key = (subscription.channel.key, subscription.rule_id)
        before, text = self.data.digests.get(key), stamp(at)
        if before is not None and text <= before:
            return False
        self.data.digests[key] = text
        return True

    async def add_chain(self, day: date, links: Sequence[ChainLink]) -> None:
        """Keep the day's alerts (each link once by its key, as JSON like the others)."""
        kept = self.data.chains.setdefault(day, {})
        for link in links:
            kept.setdefault(link.key, link.to_json())

    async def chain(self, day: date) -> list[ChainLink]:
        """The day's alerts, time-ordered (then by key)."""
        links = [ChainLink.from_json(doc) for doc in self.data.chains.get(day, {}).values()]
        return sorted(links, key=lambda link: (link.at, link.key))
