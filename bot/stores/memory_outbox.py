"""The in-memory store's outbound path: trigger claims, events once, grouped deliveries,
leases and their outcomes, charts. Mirrors the SQLite store row for row (the contract
suite runs all three); nothing awaits inside a method, so each one is atomic."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.model import (
    AlertEvent,
    ChannelRef,
    MessageKind,
    OutboxItem,
    OutboxState,
    Subscription,
    died_error,
    idempotency_key,
    retry_delay,
)
from bot.stores.codec import earliest, event_from_json, event_json
from bot.stores.triggers import TriggerState, after_fire, may_fire


@dataclass
class Delivery:
    """One outbox row: an alert group, a digest or a notice for one channel."""

    id: int
    key: str
    kind: MessageKind
    channel: ChannelRef
    rule_id: str
    created_at: float
    due_at: float
    alert_ids: tuple[str, ...] = ()
    print_id: str = ""
    expires_at: datetime | None = None
    payload: str = "{}"
    state: OutboxState = "pending"
    attempts: int = 0
    last_error: str | None = None
    leased_by: str | None = None
    leased_at: float = 0.0
    leases: int = 0

    def item(self) -> OutboxItem:
        """The row as the port's value."""
        return OutboxItem(
            id=str(self.id),
            idempotency_key=self.key,
            channel=self.channel,
            rule_id=self.rule_id,
            alert_id=self.alert_ids[0] if self.alert_ids else "",
            payload=json.loads(self.payload),
            attempts=self.attempts,
            last_error=self.last_error,
            state=self.state,
            kind=self.kind,
            alert_ids=self.alert_ids,
            print_id=self.print_id,
            created_at=self.created_at,
            due_at=self.due_at,
            expires_at=self.expires_at,
            leased_at=self.leased_at if self.leased_by is not None else None,
        )


@dataclass
class OutboundData:
    """What the outbound path keeps: trigger states, events, deliveries, charts."""

    triggers: dict[str, dict[str, TriggerState]] = field(default_factory=dict)
    """channel key → rule id → state."""
    events: dict[str, str] = field(default_factory=dict)
    """alert id → the event's versioned JSON."""
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    next_id: int = 1
    charts: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Group:
    channel: ChannelRef
    print_id: str
    rule_id: str
    alert_ids: list[str] = field(default_factory=list)
    expires: list[datetime | None] = field(default_factory=list)


class MemoryOutbox:
    """Claims and the delivery outbox in dicts."""

    time: Callable[[], float]
    out: OutboundData

    def _active(self, ref: ChannelRef) -> bool:
        raise NotImplementedError  # the store's channel side answers

    def _add(self, delivery: Delivery) -> Delivery:
        self.out.deliveries[delivery.id] = delivery
        self.out.by_key[delivery.key] = delivery.id
        self.out.next_id += 1
        return delivery

    def forget_channel(self, key: str) -> None:
        """Drop a channel's trigger state and deliveries (purging it)."""
        self.out.triggers.pop(key, None)
        for row in [d for d in self.out.deliveries.values() if d.channel.key == key]:
            del self.out.deliveries[row.id]
            del self.out.by_key[row.key]

    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy; record states, events and grouped rows together."""
        moment = now.timestamp()
        groups: dict[tuple[str, str], _Group] = {}
        for sub, event in alerts:
            if sub.kind != "alert" or sub.expired(now) or not self._active(sub.channel):
                continue
            alert_id, session = event.alert_id, event.session.isoformat()
            states = self.out.triggers.setdefault(sub.channel.key, {})
            state = states.get(sub.rule_id)
            if not may_fire(sub.policy, state, session, event.severity_rank, moment):
                continue
            states[sub.rule_id] = after_fire(state, session, event.severity_rank, moment)
            self.out.events.setdefault(alert_id, event_json(event))
            print_ref = event.print_id or alert_id
            group = groups.get((sub.channel.key, print_ref))
            if group is None:
                group = _Group(sub.channel, event.print_id, sub.rule_id)
                groups[(sub.channel.key, print_ref)] = group
            if alert_id not in group.alert_ids:
                group.alert_ids.append(alert_id)
                group.expires.append(event.expires_at)
        touched = [self._write(print_ref, group) for (_, print_ref), group in groups.items()]
        return [row.item() for row in sorted(filter(None, touched), key=lambda r: r.id)]

    def _write(self, print_ref: str, group: _Group) -> Delivery | None:
        key = idempotency_key(print_ref, group.channel)
        found = self.out.deliveries.get(self.out.by_key.get(key, 0))
        if found is not None and found.state == "pending" and found.leased_by is None:
            found.alert_ids = tuple(dict.fromkeys([*found.alert_ids, *group.alert_ids]))
            found.expires_at = earliest([found.expires_at, *group.expires])
            return found
        if found is not None:  # sent or being sent: the new alerts get a message of their own
            key = idempotency_key(f"{group.print_id}#{group.alert_ids[0]}", group.channel)
            if key in self.out.by_key:
                return None
        real_now = self.time()
        row = Delivery(
            self.out.next_id,
            key,
            "alert",
            group.channel,
            group.rule_id,
            real_now,
            real_now,
            alert_ids=tuple(group.alert_ids),
            print_id=group.print_id,
            expires_at=earliest(group.expires),
        )
        return self._add(row)

    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Re-arm cooldowns: the condition has been false for these channels."""
        for ref in channels:
            states = self.out.triggers.get(ref.key, {})
            state = states.get(rule_id)
            if state is not None and not state.armed:
                states[rule_id] = replace(state, armed=True)

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
        """Queue a digest or notice; None if `idempotency_key` exists already."""
        if idempotency_key in self.out.by_key:
            return None
        now = self.time()
        text = json.dumps(dict(payload), ensure_ascii=False)
        row = Delivery(
            self.out.next_id,
            idempotency_key,
            kind,
            channel,
            rule_id,
            now,
            now if due_at is None else due_at,
            payload=text,
        )
        return self._add(row).item()

    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        platforms: Collection[str] | None = None,
    ) -> list[OutboxItem]:
        """Lease due rows and rows whose lease ran out; park rows leased `max_attempts` times."""
        now = self.time()
        due = [
            row
            for row in sorted(self.out.deliveries.values(), key=lambda r: r.id)
            if row.state == "pending"
            and row.due_at <= now
            and (platforms is None or row.channel.platform in platforms)
            and (row.leased_by is None or row.leased_at <= now - lease_seconds)
        ][:limit]
        taken: list[OutboxItem] = []
        for row in due:
            if row.leases >= max_attempts:
                row.last_error = died_error(row.leases - row.attempts, row.last_error)
                row.state, row.attempts, row.leased_by = "parked", row.leases, None
                continue
            taken.append(row.item())
            row.leased_by, row.leased_at, row.leases = worker_id, now, row.leases + 1
        return taken

    def _row(self, item: OutboxItem) -> Delivery | None:
        return self.out.deliveries.get(int(item.id))

    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Restart the lease if `worker_id` still holds the pending row."""
        row = self._row(item)
        if row is None or row.leased_by != worker_id or row.state != "pending":
            return False
        row.leased_at = self.time()
        return True

    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item."""
        row = self._row(item)
        if row is not None:
            row.state, row.leased_by = "done", None

    async def mark_failed(
        self,
        item: OutboxItem,
        error: str,
        max_attempts: int = 5,
        retry_in: float | None = None,
    ) -> OutboxItem:
        """Count a failure; park after `max_attempts`, else due again after `retry_in`."""
        row = self._row(item)
        if row is None:
            return item
        if row.state == "pending":
            row.attempts += 1
            delay = retry_delay(row.attempts) if retry_in is None else retry_in
            row.last_error, row.leased_by = error[:1000], None
            row.due_at = self.time() + delay
            if row.attempts >= max_attempts:
                row.state = "parked"
        return row.item()

    async def reschedule(self, item: OutboxItem, due_at: float, reason: str) -> None:
        """Release the lease; due again at `due_at`; the lease counts as no attempt."""
        row = self._row(item)
        if row is not None and row.state == "pending":
            row.leased_by, row.due_at, row.last_error = None, due_at, reason[:1000]
            row.leases = max(row.leases - 1, row.attempts)

    async def park(self, item: OutboxItem, reason: str) -> None:
        """Stop delivering one item, keeping it with `reason`."""
        row = self._row(item)
        if row is not None and row.state == "pending":
            row.state, row.last_error, row.leased_by = "parked", reason[:1000], None

    async def park_channel(self, ref: ChannelRef, reason: str) -> int:
        """Park every pending item of a channel with `reason`; how many."""
        rows = [
            r for r in self.out.deliveries.values() if r.channel == ref and r.state == "pending"
        ]
        for row in rows:
            row.state, row.last_error, row.leased_by = "parked", reason[:1000], None
        return len(rows)

    async def list_outbox(self) -> list[OutboxItem]:
        """Pending and parked items, oldest first."""
        rows = sorted(self.out.deliveries.values(), key=lambda r: r.id)
        return [row.item() for row in rows if row.state in ("pending", "parked")]

    async def alert_events(self, alert_ids: Sequence[str]) -> list[AlertEvent]:
        """The stored events with these ids, in the order asked (unknown ids left out)."""
        docs = self.out.events
        return [event_from_json(docs[a]) for a in alert_ids if a in docs]

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""
        rows = sorted(
            (r for r in self.out.deliveries.values() if r.channel == ref and r.kind == "alert"),
            key=lambda r: -r.id,
        )[:limit]
        ids = [alert_id for row in rows for alert_id in reversed(row.alert_ids)]
        return (await self.alert_events(list(dict.fromkeys(ids))))[:limit]

    async def put_chart(self, key: str, png: bytes) -> None:
        """Store a chart once under `key`."""
        self.out.charts.setdefault(key, bytes(png))

    async def get_chart(self, key: str) -> bytes | None:
        """A stored chart, or None."""
        return self.out.charts.get(key)
