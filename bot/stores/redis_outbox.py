"""The Redis store's outbound path: claims, events once, grouped deliveries, leases, charts."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.model import (
    AlertEvent,
    ChannelRef,
    MessageKind,
    OutboxItem,
    Subscription,
    idempotency_key,
    stamp,
)
from bot.stores.codec import event_from_json, event_json, unstamp
from bot.stores.redis_base import RedisBase, _translated

ALERT_TTL_SECONDS = 90 * 86400
CHART_TTL_SECONDS = 3 * 86400
HISTORY_LENGTH = 200
CLAIM_CHUNK = 1000
"""Pairs per claim script call (each call is atomic; a channel's pairs stay in one call)."""


def seconds_text(seconds: float) -> str:
    """Epoch seconds as short, exact text: no `.0` when whole (trigger state's fired at)."""
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def _fields(flat: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(flat, Mapping):
        return dict(flat)
    return dict(zip(flat[::2], flat[1::2], strict=True))


def item_from_hash(
    item_id: str, flat: Sequence[str] | Mapping[str, str], ids: str | None
) -> OutboxItem:
    """An outbox item from its fields (flat or as a mapping) and alert ids.

    Its id is its idempotency key, or `BUCKET~KEY` for a row of a bucket hash.
    """
    data = _fields(flat)
    the_print, expires, alert_ids = split_group(ids)
    return OutboxItem(
        id=item_id,
        idempotency_key=item_id.rpartition("~")[2],
        channel=ChannelRef.from_key(data["c"]),
        rule_id=data.get("r", ""),
        alert_id=alert_ids[0] if alert_ids else "",
        payload=json.loads(data["pl"]) if data.get("pl") else {},
        attempts=int(data.get("att") or 0),
        last_error=data.get("err") or None,
        state=data.get("st", "pending"),  # type: ignore[arg-type]
        kind=data.get("kind", "alert"),  # type: ignore[arg-type]
        alert_ids=alert_ids,
        print_id=the_print,
        created_at=float(data.get("cr") or 0),
        due_at=float(data.get("due") or 0),
        expires_at=unstamp(expires),
        leased_at=float(data["at"]) if data.get("by") and data.get("at") else None,
    )


def split_group(text: str | None) -> tuple[str, str, tuple[str, ...]]:
    """A group's print id, expiry stamp and alert ids (`P group:G`, see redis_lua_outbox)."""
    the_print, expires, ids = ((text or "") + "\n\n").split("\n", 2)
    return the_print, expires, tuple(a for a in ids.split("\n") if a)


Found = tuple[str, Any, str | None]
"""(id, hash, alert ids) of one item, as the scripts return them."""


def _ordered(found: Sequence[Found]) -> list[OutboxItem]:
    """Items, oldest first (by their sequence number `n`), once each."""
    by_id = {item_id: (flat, ids) for item_id, flat, ids in found if flat}
    order = sorted(by_id, key=lambda item_id: int(_fields(by_id[item_id][0]).get("n") or 0))
    return [item_from_hash(item_id, *by_id[item_id]) for item_id in order]


def _triples(reply: Sequence[Any]) -> list[Found]:
    return [(reply[n], reply[n + 1], reply[n + 2]) for n in range(0, len(reply), 3)]


def _items(reply: Sequence[Any]) -> list[OutboxItem]:
    return _ordered(_triples(reply))


class RedisOutbox(RedisBase):
    """Claims and the delivery outbox on Redis."""

    @_translated
    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy atomically in Lua; state, events and items go together."""
        by_channel: dict[str, list[tuple[Subscription, AlertEvent]]] = {}
        for sub, event in alerts:
            if sub.kind == "alert" and not sub.expired(now):
                by_channel.setdefault(sub.channel.key, []).append((sub, event))
        calls: list[list[tuple[Subscription, AlertEvent]]] = [[]]
        for pairs in by_channel.values():
            if len(calls[-1]) + len(pairs) > CLAIM_CHUNK and calls[-1]:
                calls.append([])
            calls[-1].extend(pairs)
        trading_now, real_now = seconds_text(now.timestamp()), repr(self.time())
        keys: dict[tuple[str, str], str] = {}
        alert_ids: dict[int, str] = {}  # an event's id, computed once (not per channel)
        for _, event in alerts:
            if id(event) not in alert_ids:
                alert_ids[id(event)] = event.alert_id
        channels: dict[str, set[str]] = {}  # per print (or alert): its channels, sizes buckets
        for pairs in by_channel.values():
            for sub, event in pairs:
                ref = event.print_id or alert_ids[id(event)]
                channels.setdefault(ref, set()).add(sub.channel.key)
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                if not call:
                    continue
                events: dict[str, tuple[int, AlertEvent]] = {}
                for _, event in call:
                    events.setdefault(alert_ids[id(event)], (len(events) + 1, event))
                args: list[Any] = [
                    self.prefix,
                    trading_now,
                    real_now,
                    HISTORY_LENGTH,
                    ALERT_TTL_SECONDS,
                    len(events),
                ]
                for alert_id, (_, event) in events.items():
                    expires = stamp(event.expires_at) if event.expires_at else ""
                    args += [alert_id, event.rule_id, event.session.strftime("%Y%m%d")]
                    args += [event.severity_rank, event_json(event), expires, event.print_id]
                    args.append(len(channels[event.print_id or alert_id]))
                for sub, event in call:
                    alert_id = alert_ids[id(event)]
                    ref = event.print_id or alert_id
                    key = keys.get((ref, sub.channel.key))
                    if key is None:
                        key = keys[(ref, sub.channel.key)] = idempotency_key(ref, sub.channel)
                    index = events[alert_id][0]
                    policy = sub.policy
                    args.append(
                        f"{index}|{policy.kind}|{policy.cooldown_seconds}|{key}|{sub.channel.key}"
                    )
                await self._scripts["claim"](keys=[], args=args, client=pipe)
            replies = await pipe.execute() if any(calls) else []
        texts: dict[str, str] = {}
        found: list[Found] = []
        for group_texts, created, joined in replies:
            texts.update(zip(group_texts[::2], group_texts[1::2], strict=True))
            for line in created:
                item_id, n, ref, rule_id, ckey = line.split("|", 4)
                fields = {"n": n, "c": ckey, "st": "pending", "r": rule_id, "g": ref}
                found.append((item_id, {**fields, "due": real_now, "cr": real_now}, ref))
            found += _triples(joined)
        return _ordered([(item_id, flat, texts.get(ref or "")) for item_id, flat, ref in found])

    @_translated
    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Re-arm cooldowns: the condition has been false for these channels."""
        if channels:
            await self.script("observe", [self.prefix, rule_id, *(c.key for c in channels)])

    @_translated
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
        now = self.time()
        text = json.dumps(dict(payload), ensure_ascii=False)
        due = repr(now if due_at is None else due_at)
        args = [self.prefix, idempotency_key, kind, channel.key, rule_id, text, repr(now), due]
        reply = await self.script("enqueue", args)
        return _items(reply)[0] if reply else None

    @_translated
    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        platforms: Collection[str] | None = None,
    ) -> list[OutboxItem]:
        """Lease due items and items whose lease ran out; park ones leased too often."""
        if platforms is None:
            wanted = sorted(await self.redis.smembers(self.k("deliveries", "platforms")))
        else:
            wanted = sorted(platforms)
        if not wanted or limit <= 0:
            return []
        lsec = seconds_text(float(lease_seconds))
        args: list[Any] = [self.prefix, worker_id, repr(self.time()), lsec]
        reply = await self.script("lease", [*args, limit, max_attempts, *wanted])
        return _items(reply)

    @_translated
    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Restart the lease if `worker_id` still holds the pending item."""
        args = [self.prefix, item.id, worker_id, repr(self.time())]
        return bool(await self.script("renew", args))

    async def _settle(self, item: OutboxItem, action: str, *args: Any) -> OutboxItem | None:
        now = repr(self.time())
        found = _items(await self.script("settle", [self.prefix, item.id, action, now, *args]))
        return found[0] if found else None

    @_translated
    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item (kept 7 days as delivered, under its key)."""
        await self._settle(item, "done")

    @_translated
    async def mark_failed(
        self,
        item: OutboxItem,
        error: str,
        max_attempts: int = 5,
        retry_in: float | None = None,
    ) -> OutboxItem:
        """Count a failure; park after `max_attempts`, else due again after `retry_in`."""
        delay = "" if retry_in is None else repr(float(retry_in))
        after = await self._settle(item, "fail", error[:1000], max_attempts, delay)
        return after or item

    @_translated
    async def reschedule(self, item: OutboxItem, due_at: float, reason: str) -> None:
        """Release the lease; due again at `due_at`; the lease counts as no attempt."""
        await self._settle(item, "reschedule", repr(float(due_at)), reason[:1000])

    @_translated
    async def park(self, item: OutboxItem, reason: str) -> None:
        """Stop delivering one item, keeping it with `reason`."""
        await self._settle(item, "park", reason[:1000])

    @_translated
    async def park_channel(self, ref: ChannelRef, reason: str) -> int:
        """Park every pending item of a channel with `reason`; how many."""
        args = [self.prefix, ref.platform, reason[:1000] or "parked", ref.key]
        return int(await self.script("park_channels", args))

    @_translated
    async def list_outbox(self) -> list[OutboxItem]:
        """Pending and parked items, oldest first."""
        return _items(await self.script("list", [self.prefix]))

    @_translated
    async def alert_events(self, alert_ids: Sequence[str]) -> list[AlertEvent]:
        """The stored events with these ids, in the order asked (unknown ids left out)."""
        if not alert_ids:
            return []
        texts = await self.redis.mget([self.k("alert", alert_id) for alert_id in alert_ids])
        return [event_from_json(text) for text in texts if text]

    @_translated
    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.k("channel", ref.key), "h")
            pipe.lrange(self.k("history", ref.key), 0, limit - 1)
            recent, older = await pipe.execute()
        refs = [*(recent or "").split(), *older][:limit]
        texts = await self.redis.mget([self.k("group", g) for g in refs]) if refs else []
        ids = [a for text in texts if text for a in reversed(split_group(text)[2])]
        return await self.alert_events(list(dict.fromkeys(ids))[:limit])

    @_translated
    async def put_chart(self, key: str, png: bytes) -> None:
        """Store a chart once under `key` (SET NX, expires after 3 days)."""
        await self.raw.set(self.k("chart", key), png, nx=True, ex=CHART_TTL_SECONDS)

    @_translated
    async def get_chart(self, key: str) -> bytes | None:
        """A stored chart, or None."""
        found = await self.raw.get(self.k("chart", key))
        return None if found is None else bytes(found)
