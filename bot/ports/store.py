"""The store's role ports: what handlers, jobs and chat adapters may ask of the store.

One store (SQLite, Redis or in-memory; `bot/stores/`, picked by the composition root)
implements every role; each caller names only the role it uses. The values are the domain
model (`bot/domain/model.py`); nothing here imports sqlite3 or redis. The contract is pinned
down by `tests/stores/test_store_contract.py`, which runs against every implementation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.domain.chain import ChainLink
from bot.domain.model import (
    AlertEvent,
    Channel,
    ChannelRef,
    Language,
    MessageKind,
    OutboxItem,
    Snooze,
    Subscription,
    SubscriptionKind,
)


class StoreError(Exception):
    """A store-level failure (bad data, unknown channel)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened; the message names the URL without password."""


class StoreMissing(StoreUnavailable):
    """Asked to open an existing store only (`create=False`), and there is none yet."""


class ChannelStore(Protocol):
    """Channels and what they keep: language, zone, mention, subscriptions, mutes, saved
    rules, snoozes and the alerts they hold, watch lists; purging a channel or workspace."""

    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel."""

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""

    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language (StoreError if unknown)."""

    async def set_timezone(self, ref: ChannelRef, zone: str | None) -> None:
        """Choose a known channel's zone; None: follow its language (StoreError if unknown)."""

    async def set_mention(self, ref: ChannelRef, mention: str | None) -> None:
        """Set (or clear) who the channel's alerts ping (StoreError if unknown)."""

    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel, remembering why (StoreError if unknown)."""

    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace (channel, kind, rule_id); the channel must exist."""

    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription; False if there was none."""

    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""

    async def recipients(
        self, rule_id: str, *, now: datetime, kind: SubscriptionKind = "alert"
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now` (the Clock's
        trading time, from the caller) and not muted, by channel key."""

    async def custom_rules(self, now: datetime) -> list[Subscription]:
        """Alert subscriptions with an expression, of active channels, not expired at `now`,
        not muted."""

    async def set_muted(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str, muted: bool
    ) -> bool:
        """Mute or unmute one subscription (its trigger state kept); False if there is none."""

    async def save_rule(self, ref: ChannelRef, name: str, expression: str) -> None:
        """Keep a named rule in the channel's book (replacing one of that name); the channel
        must exist. A saved rule outlives its subscription."""

    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        """The channel's saved rules, name → expression, by name."""

    async def delete_rule(self, ref: ChannelRef, name: str) -> bool:
        """Forget a saved rule; False if there was none."""

    async def set_snooze(self, ref: ChannelRef, snooze: Snooze | None) -> None:
        """Pause a known channel's alerts (replacing any snooze; held alerts are kept), or
        clear the pause without releasing what it held (StoreError if unknown)."""

    async def hold_alerts(self, ref: ChannelRef, alert_ids: Sequence[str]) -> None:
        """Keep alert ids that came during a snooze, in order, for its summary."""

    async def end_snooze(self, ref: ChannelRef) -> tuple[Snooze | None, list[str]]:
        """End a channel's snooze at once: the snooze it had and the alert ids it held (each
        once, oldest first), both cleared together so a summary is sent once."""

    async def ended_snoozes(self, now: datetime) -> list[ChannelRef]:
        """Channels whose snooze ended at or before `now` (still to be released)."""

    async def set_watchlist(self, ref: ChannelRef, symbols: Sequence[str] | None) -> None:
        """The symbols a known channel's digest covers; None: the configured default."""

    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a channel: its subscriptions, trigger state, history and pending items."""

    async def purge_workspace(self, platform: str, workspace_id: str) -> int:
        """Purge every channel of a workspace (guild removed, app uninstalled); how many."""

    async def workspaces(self, platform: str) -> list[str]:
        """The workspace ids with at least one stored channel on `platform`, sorted.

        Lets an adapter purge workspaces it was removed from while it was offline.
        """


class Outbox(Protocol):
    """Trigger claims and the outbox: fired alerts claimed under each channel's policy, queued
    messages, leases and their outcomes, and the alert history they leave."""

    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy atomically; persist state, events and messages together.

        Each claimed event is stored once (language-neutral, versioned JSON); each channel
        gets one alert item per print (`print_id`) listing its alerts' ids, with one
        idempotency key per (print, channel). Returns the items created or extended.
        """

    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Record that the rule's condition is false for these channels (re-arms cooldowns)."""

    async def enqueue_message(
        self,
        kind: MessageKind,
        channel: ChannelRef,
        payload: Mapping[str, Any],
        idempotency_key: str,
        *,
        rule_id: str = "",
        due_at: float | None = None,
    ) -> OutboxItem | None:
        """Queue a digest or notice; None (nothing queued) if `idempotency_key` exists."""

    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        platforms: Collection[str] | None = None,
    ) -> list[OutboxItem]:
        """Due items to deliver: new ones, and ones leased more than `lease_seconds` ago.

        Only items whose channel is on one of `platforms` (all when None): a worker leases
        what it has a sink for, and items for other platforms wait, untouched.

        Every worker should use the same lease duration; an item whose lease ran out (its
        worker died, or its delivery failed) is taken over by the next `lease` call. Every
        lease counts: an item already leased `max_attempts` times (a poison item whose
        workers keep dying) is parked instead, with last error "worker died N times while
        delivering".
        """

    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Restart the lease of an item `worker_id` holds, right before sending it.

        False (send nothing) if another worker has taken the item over or it is no longer
        pending; a renewed lease is valid for the full `lease_seconds` again.
        """

    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item: it is done."""

    async def mark_failed(
        self,
        item: OutboxItem,
        error: str,
        max_attempts: int = 5,
        retry_in: float | None = None,
    ) -> OutboxItem:
        """Count a failure; park after `max_attempts`, else due again after `retry_in` seconds
        (default `retry_delay(attempts)`); the lease is released."""

    async def reschedule(self, item: OutboxItem, due_at: float, reason: str) -> None:
        """Release the lease; the item is due again at `due_at`, no attempt counted."""

    async def park(self, item: OutboxItem, reason: str) -> None:
        """Stop delivering one item, keeping it (with `reason`) for `outbox` to show."""

    async def park_channel(self, ref: ChannelRef, reason: str) -> int:
        """Park every pending item of a channel with `reason`; how many."""

    async def list_outbox(self) -> list[OutboxItem]:
        """Pending and parked items, oldest first."""

    async def alert_events(self, alert_ids: Sequence[str]) -> list[AlertEvent]:
        """The stored events with these ids, in the order asked (unknown ids left out)."""

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""


class RunClaims(Protocol):
    """Once-only claims: a scheduled run per (job, time), a digest slot per subscription, an
    on-demand request per channel and interval."""

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        """True for exactly one caller per (job id, scheduled time), so N instances run it once.

        The claim expires after `ttl_seconds` (it is never deleted early).
        """

    async def last_digest(self, subscription: Subscription) -> datetime | None:
        """When the subscription's previous digest was queued (None: never)."""

    async def record_digest(self, subscription: Subscription, at: datetime) -> bool:
        """Remember that a digest slot `at` was queued; False if it already was."""

    async def claim_request(
        self, ref: ChannelRef, name: str, now: datetime, min_interval_seconds: float
    ) -> datetime | None:
        """Record an on-demand request (`digest_now`) at `now` unless the channel made one
        less than `min_interval_seconds` before; None when recorded, else that earlier time."""


class WarningChain(Protocol):
    """The early-warning chain (issue 19): the alerts of one trading day, shared by every
    instance on the store (`jobs/chain.py`, the digest)."""

    async def add_chain(self, day: date, links: Sequence[ChainLink]) -> None:
        """Keep the day's alerts (each link once by its key, whichever instance adds it)."""

    async def chain(self, day: date) -> list[ChainLink]:
        """The day's alerts, time-ordered (then by key)."""


class ChartStore(Protocol):
    """Rendered charts, stored once per key and shared by every worker."""

    async def put_chart(self, key: str, png: bytes) -> None:
        """Store a chart once under `key` (`chart_key(...)`); a second put is a no-op."""

    async def get_chart(self, key: str) -> bytes | None:
        """A stored chart, or None."""


class KeyValue(Protocol):
    """A namespace of small string values an adapter keeps in the bot's store (Slack's
    installations, OAuth states, attempt log), shared by every process on that store.

    A key holds either one value or a set of fields, not both. Expiry (`ttl_seconds`) is
    real time; an expired key reads as absent.
    """

    namespace: str

    async def get(self, key: str) -> str | None:
        """The key's value, or None."""
        ...

    async def set(
        self, key: str, value: str, *, ttl_seconds: float | None = None, only_new: bool = False
    ) -> bool:
        """Store `value` (expiring after `ttl_seconds`, or never); with `only_new`, only if
        the key holds nothing. True if it was stored."""
        ...

    async def take(self, key: str) -> str | None:
        """Read and delete the key's value in one step: one caller gets it."""
        ...

    async def delete(self, *keys: str) -> None:
        """Forget these keys (their value or their fields)."""
        ...

    async def get_field(self, key: str, field: str) -> str | None:
        """One field of the key, or None."""
        ...

    async def set_field(self, key: str, field: str, value: str) -> None:
        """Store one field of the key (fields never expire)."""
        ...

    async def delete_field(self, key: str, field: str) -> None:
        """Forget one field of the key."""
        ...


class KeyValues(Protocol):
    """Hands adapters their own key-value namespace in the bot's store."""

    def keyvalue(self, namespace: str) -> KeyValue:
        """The namespace `namespace` (e.g. "slack"); keys of other namespaces are apart."""
        ...


Verdict = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class StoreHealth:
    """What `doctor` says about a store: reachable and how, whether it keeps anything."""

    backend: str
    """"SQLite", "Redis" or "memory"."""
    detail: str
    """Reachable, with the redacted URL and schema, in one line."""
    durability: Verdict
    """"ok" when what is stored survives a restart."""
    durability_detail: str


class StoreAdmin(Protocol):
    """Opening, closing and describing the store (the composition root, `doctor`, `run`)."""

    url: str

    async def open(self) -> None:
        """Connect and migrate; raises StoreUnavailable with the redacted URL."""

    async def close(self) -> None:
        """Release connections."""

    async def health(self) -> StoreHealth:
        """Reachable, schema, durability (StoreUnavailable if it cannot be asked)."""
        ...

    def run_lock(self) -> Path | None:
        """A file one `run` process must hold (a store that only one process may drive:
        SQLite), or None when several processes may share the store."""
        ...


class AlertStore(ChannelStore, Outbox, Protocol):
    """The alert path's roles together: find recipients, claim, deliver and settle, deactivate
    a channel that is gone (`jobs/enqueue.py`, `jobs/deliver.py`)."""


class Store(
    ChannelStore, Outbox, RunClaims, WarningChain, ChartStore, KeyValues, StoreAdmin, Protocol
):
    """Every role: what a store implementation offers and the composition root holds."""
