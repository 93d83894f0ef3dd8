"""The few Store methods the scheduler and the digest job use, in memory (runs, digests).

Fast, and it lets the tests look at what was queued; the real SQLite and Redis
`claim_run`, `last_digest`, `record_digest` and `chain` are covered by the store contract tests and
by the `run` subprocess tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.domain.chain import ChainLink
from bot.domain.model import Channel, ChannelRef, Subscription


@dataclass
class QueuedMessage:
    kind: str
    channel: ChannelRef
    payload: Mapping[str, Any]
    idempotency_key: str
    rule_id: str


@dataclass
class ScheduleStore:
    subscriptions: list[Subscription] = field(default_factory=list)
    claims: dict[tuple[str, datetime], str] = field(default_factory=dict)
    digests: dict[tuple[str, str], datetime] = field(default_factory=dict)
    queued: list[QueuedMessage] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    channels: dict[ChannelRef, Channel] = field(default_factory=dict)
    claimer: str = "one"

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        key = (job_id, scheduled)
        if key in self.claims:
            return False
        self.claims[key] = self.claimer
        return True

    async def recipients(
        self, rule_id: str, *, kind: str = "alert", now: datetime | None = None
    ) -> list[Subscription]:
        return [s for s in self.subscriptions if s.rule_id == rule_id and s.kind == kind]

    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        return {}

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        return self.channels.get(ref)

    async def last_digest(self, subscription: Subscription) -> datetime | None:
        return self.digests.get((subscription.channel.key, subscription.rule_id))

    async def record_digest(self, subscription: Subscription, at: datetime) -> bool:
        key = (subscription.channel.key, subscription.rule_id)
        if self.digests.get(key) == at:
            return False
        self.digests[key] = at
        return True

    async def enqueue_message(
        self,
        kind: str,
        channel: ChannelRef,
        payload: Mapping[str, Any],
        idempotency_key: str,
        *,
        rule_id: str = "",
        due_at: float | None = None,
    ) -> object | None:
        if idempotency_key in self.keys:
            return None
        self.keys.add(idempotency_key)
        self.queued.append(QueuedMessage(kind, channel, payload, idempotency_key, rule_id))
        return object()

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[Any]:
        return []

    async def chain(self, day: date) -> list[ChainLink]:
        """The day's early-warning chain: these tests' days have none (the chain on a
        digest is covered by tests/stores/test_early_warning_chain.py on every store)."""
        return []


class SharedClaims:
    """Two schedulers' views of one claim table, each naming itself."""

    def __init__(self, store: ScheduleStore, name: str) -> None:
        self.store = store
        self.name = name

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        self.store.claimer = self.name
        return await self.store.claim_run(job_id, scheduled, ttl_seconds)
