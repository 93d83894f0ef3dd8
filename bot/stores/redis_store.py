"""Redis store for scale-out: several bot processes share one Redis (layout: docs/stores.md).

Claims run as one Lua script per alert chunk (atomic); the outbox is a Stream with a consumer
group, and items idle longer than their lease are taken over with XAUTOCLAIM.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from redis import exceptions as rexc
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.stores import redis_lua
from bot.stores.port import (
    AlertEvent,
    Channel,
    ChannelRef,
    Language,
    OutboxItem,
    StoreError,
    StoreUnavailable,
    Subscription,
    SubscriptionKind,
    idempotency_key,
    redact_url,
)
from bot.stores.redis_codec import (
    event_from_json,
    event_json,
    split_redis_url,
    sub_from_json,
    sub_json,
)

P = ParamSpec("P")
T = TypeVar("T")

GROUP = "deliver"
ALERT_TTL_SECONDS = 90 * 86400
HISTORY_LENGTH = 200
CLAIM_CHUNK = 1000
_UNREACHABLE = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError, OSError)
# redis-py >= 5.0.1 raises OutOfMemoryError (the stubs predate it); older ones a ResponseError
# whose text starts with "OOM", which _REFUSING_CODES matches.
_OOM: tuple[type[Exception], ...] = tuple(
    getattr(rexc, name) for name in ("OutOfMemoryError",) if hasattr(rexc, name)
)
_REFUSING: tuple[type[Exception], ...] = (rexc.ReadOnlyError, *_OOM)
"""Replies of a Redis that is up but cannot take writes for now: READONLY (a replica, e.g. a
demoted master after a Sentinel failover) and OOM (maxmemory reached, noeviction)."""
_REFUSING_CODES = re.compile(r"\b(READONLY|OOM|MASTERDOWN|NOREPLICAS|MISCONF|TRYAGAIN|LOADING)\b")
"""The same and other transient refusals, as error codes (also inside pipeline / script errors)."""


def unavailable(exc: BaseException) -> bool:
    """Whether a Redis error means "not now" (retry later) rather than a bug or bad data."""
    if isinstance(exc, (*_UNREACHABLE, *_REFUSING)):
        return True
    return isinstance(exc, rexc.ResponseError) and bool(_REFUSING_CODES.search(str(exc)))


def _translated(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn connection trouble and refused writes into StoreUnavailable naming the URL."""

    @wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (*_UNREACHABLE, rexc.ResponseError) as exc:
            if not unavailable(exc):
                raise
            store: RedisStore = args[0]  # type: ignore[assignment]
            if isinstance(exc, rexc.ResponseError):
                if isinstance(exc, rexc.ReadOnlyError):
                    await store.drop_connections()  # reconnect: the address may move on
                kind = "READONLY" if isinstance(exc, rexc.ReadOnlyError) else "refused"
                if isinstance(exc, _OOM):
                    kind = "OOM"
                text = f"store {redact_url(store.url)} unavailable ({kind}): {exc}"
            else:
                text = f"store {redact_url(store.url)} unreachable: {exc}"
            raise StoreUnavailable(text) from exc

    return wrapper


class RedisStore:
    """Store on one Redis; every key starts with `prefix`."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.create = create
        """False: write nothing on open (no consumer group is created), e.g. to list the outbox."""
        self._client_url, self.prefix = split_redis_url(url)
        self._redis: Redis | None = None
        self.stream = f"{self.prefix}outbox"

    @property
    def redis(self) -> Redis:
        """The connected client."""
        if self._redis is None:
            raise StoreError("store is not open")
        return self._redis

    def k(self, *parts: str) -> str:
        """A key under the prefix."""
        return self.prefix + ":".join(parts)

    async def open(self) -> None:
        """Connect, check the server answers, create the consumer group."""
        self._redis = Redis.from_url(
            self._client_url,
            decode_responses=True,
            socket_connect_timeout=3,
            socket_timeout=10,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 4),
            retry_on_error=[rexc.ConnectionError, rexc.TimeoutError],
        )
        self._claim = self._redis.register_script(redis_lua.CLAIM)
        self._observe = self._redis.register_script(redis_lua.OBSERVE_FALSE)
        self._fail = self._redis.register_script(redis_lua.MARK_FAILED)
        self._add_sub = self._redis.register_script(redis_lua.ADD_SUBSCRIPTION)
        self._take_over = self._redis.register_script(redis_lua.TAKE_OVER)
        self._renew = self._redis.register_script(redis_lua.RENEW)
        try:
            await self._redis.ping()
            if self.create:
                await self._ensure_group()
        except (rexc.RedisError, OSError) as exc:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates 5.0.1
            self._redis = None
            raise StoreUnavailable(f"cannot reach store {redact_url(self.url)}: {exc}") from None

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def drop_connections(self) -> None:
        """Close pooled connections so the next command reconnects (after a failover)."""
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.connection_pool.disconnect()

    async def close(self) -> None:
        """Close the connection pool."""
        if self._redis is not None:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates 5.0.1
            self._redis = None

    # -- channels -------------------------------------------------------------------------

    @_translated
    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel."""
        ref = channel.ref
        fields: dict[str | bytes, str | int] = {
            "language": channel.language,
            "timezone": channel.timezone,
            "active": int(channel.active),
            "inactive_reason": channel.inactive_reason or "",
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.k("channel", ref.key), mapping=fields)
            pipe.sadd(self.k("channels"), ref.key)
            if channel.active:
                pipe.srem(self.k("channels", "inactive"), ref.key)
            else:
                pipe.sadd(self.k("channels", "inactive"), ref.key)
            await pipe.execute()

    @_translated
    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        data = await self.redis.hgetall(self.k("channel", ref.key))
        if not data:
            return None
        return Channel(
            ref=ref,
            language=data["language"],  # type: ignore[arg-type]
            timezone=data["timezone"],
            active=data["active"] == "1",
            inactive_reason=data["inactive_reason"] or None,
        )

    async def _require_channel(self, ref: ChannelRef) -> None:
        if not await self.redis.exists(self.k("channel", ref.key)):
            raise StoreError(f"unknown channel {ref.key}")

    @_translated
    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language."""
        await self._require_channel(ref)
        await self.redis.hset(self.k("channel", ref.key), "language", language)

    @_translated
    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel, remembering why."""
        await self._require_channel(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.k("channel", ref.key), mapping={"active": 0, "inactive_reason": reason})
            pipe.sadd(self.k("channels", "inactive"), ref.key)
            await pipe.execute()

    # -- subscriptions --------------------------------------------------------------------

    @_translated
    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace (channel, kind, rule_id); the channel must exist."""
        s = subscription
        args = [self.prefix, s.kind, s.rule_id, s.channel.key, sub_json(s)]
        if not await self._add_sub(keys=[], args=args):
            raise StoreError(f"unknown channel {s.channel.key}")

    @_translated
    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription; False if there was none."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.k("rule", kind, rule_id), ref.key)
            pipe.srem(self.k("chsubs", ref.key), f"{kind}|{rule_id}")
            if kind == "alert":  # a later subscription starts afresh (a new `once` fires)
                pipe.hdel(self.k("trigger", rule_id), ref.key)
            removed, *_ = await pipe.execute()
        return bool(removed)

    @_translated
    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""
        members = sorted(await self.redis.smembers(self.k("chsubs", ref.key)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                kind, rule_id = member.split("|", 1)
                pipe.hget(self.k("rule", kind, rule_id), ref.key)
            texts = await pipe.execute()
        return [
            sub_from_json(ref.key, member.split("|", 1)[0], member.split("|", 1)[1], text)
            for member, text in zip(members, texts, strict=True)
            if text is not None
        ]

    @_translated
    async def recipients(
        self, rule_id: str, *, kind: SubscriptionKind = "alert", now: datetime | None = None
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now`."""
        moment = now or datetime.now(UTC)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.k("rule", kind, rule_id))
            pipe.smembers(self.k("channels", "inactive"))
            subs, inactive = await pipe.execute()
        found = (
            sub_from_json(ckey, kind, rule_id, text)
            for ckey, text in sorted(subs.items())
            if ckey not in inactive
        )
        return [sub for sub in found if not sub.expired(moment)]

    # -- trigger state + outbox -----------------------------------------------------------

    @_translated
    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy atomically in Lua; state and stream entry go together."""
        by_event: dict[str, tuple[AlertEvent, list[Subscription]]] = {}
        for sub, event in alerts:
            if sub.kind == "alert" and not sub.expired(now):
                by_event.setdefault(event.alert_id, (event, []))[1].append(sub)
        calls: list[list[Subscription]] = []
        stamp = repr(now.timestamp())
        async with self.redis.pipeline(transaction=False) as pipe:
            for event, subs in by_event.values():
                head = [
                    self.prefix,
                    event.rule_id,
                    event.alert_id,
                    event.session.isoformat(),
                    event.severity_rank,
                    stamp,
                    event_json(event),
                    ALERT_TTL_SECONDS,
                    HISTORY_LENGTH,
                ]
                for start in range(0, len(subs), CLAIM_CHUNK):
                    chunk = subs[start : start + CLAIM_CHUNK]
                    args: list[Any] = list(head)
                    for sub in chunk:
                        key = idempotency_key(event.alert_id, sub.channel)
                        args += [sub.channel.key, sub.policy.kind, sub.policy.cooldown_seconds, key]
                    await self._claim(keys=[], args=args, client=pipe)
                    calls.append(chunk)
            results = await pipe.execute() if calls else []
        events = [
            event for event, subs in by_event.values() for _ in range(0, len(subs), CLAIM_CHUNK)
        ]
        items: list[OutboxItem] = []
        for event, chunk, flat in zip(events, calls, results, strict=True):
            for index, entry_id in zip(flat[::2], flat[1::2], strict=True):
                sub = chunk[int(index)]
                key = idempotency_key(event.alert_id, sub.channel)
                items.append(
                    OutboxItem(
                        entry_id, key, sub.channel, sub.rule_id, event.alert_id, event.payload
                    )
                )
        return items

    @_translated
    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Re-arm cooldowns: the condition has been false for these channels."""
        if channels:
            args = [self.prefix, rule_id, *(c.key for c in channels)]
            await self._observe(keys=[], args=args)

    async def _read_group(self, worker_id: str, count: int) -> list[Any]:
        try:
            reply = await self.redis.xreadgroup(GROUP, worker_id, {self.stream: ">"}, count=count)
        except rexc.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()  # a Redis without persistence restarted empty
            reply = await self.redis.xreadgroup(GROUP, worker_id, {self.stream: ">"}, count=count)
        return list(reply[0][1]) if reply else []

    @_translated
    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
    ) -> list[OutboxItem]:
        """Take over entries idle longer than the lease (parking poison ones), then new ones."""
        entries: list[Any] = []
        args: list[str | int] = [
            self.prefix,
            GROUP,
            worker_id,
            int(lease_seconds * 1000),
            limit,
            max_attempts,
        ]
        try:
            reply = await self._take_over(keys=[], args=args)
            entries = [
                (entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))
                for entry_id, flat in reply
            ]
        except rexc.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        if len(entries) < limit:
            entries += await self._read_group(worker_id, limit - len(entries))
        return await self._items(entries)

    @_translated
    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Reset the entry's idle time if `worker_id` still owns it (XCLAIM JUSTID)."""
        try:
            renewed = await self._renew(keys=[], args=[self.prefix, GROUP, worker_id, item.id])
        except rexc.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            return False
        return bool(renewed)

    async def _items(self, entries: list[Any], state: str = "pending") -> list[OutboxItem]:
        if not entries:
            return []
        alert_ids = sorted({fields["a"] for _, fields in entries})
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.mget([self.k("alert", alert_id) for alert_id in alert_ids])
            pipe.hmget(self.k("outbox", "errors"), [entry_id for entry_id, _ in entries])
            texts, errors = await pipe.execute()
        payloads = {
            alert_id: json.loads(text)["payload"] if text else {}
            for alert_id, text in zip(alert_ids, texts, strict=True)
        }
        items = []
        for (entry_id, fields), error in zip(entries, errors, strict=True):
            failure: dict[str, Any] = json.loads(error) if error else {}
            items.append(
                OutboxItem(
                    id=entry_id,
                    idempotency_key=fields["k"],
                    channel=ChannelRef.from_key(fields["c"]),
                    rule_id=fields["r"],
                    alert_id=fields["a"],
                    payload=payloads[fields["a"]],
                    attempts=failure.get("attempts", 0),
                    last_error=failure.get("last_error"),
                    state=state,  # type: ignore[arg-type]
                )
            )
        return items

    @_translated
    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item: acknowledge and drop the entry."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, item.id)
            pipe.xdel(self.stream, item.id)
            pipe.hdel(self.k("outbox", "errors"), item.id)
            await pipe.execute()

    @_translated
    async def mark_failed(self, item: OutboxItem, error: str, max_attempts: int = 5) -> OutboxItem:
        """Count a failure; park after `max_attempts` (moved out of the stream, kept)."""
        meta = {
            "a": item.alert_id,
            "c": item.channel.key,
            "k": item.idempotency_key,
            "r": item.rule_id,
        }
        args: list[str | int] = [
            self.prefix,
            GROUP,
            item.id,
            json.dumps(meta),
            error[:1000],
            max_attempts,
        ]
        state, attempts = await self._fail(keys=[], args=args)
        return OutboxItem(
            item.id,
            item.idempotency_key,
            item.channel,
            item.rule_id,
            item.alert_id,
            item.payload,
            attempts=int(attempts) or item.attempts,
            last_error=error[:1000] if state != "done" else item.last_error,
            state=state,
        )

    @_translated
    async def list_outbox(self) -> list[OutboxItem]:
        """Pending (in the stream) and parked items, oldest first."""
        pending = await self._items(list(await self.redis.xrange(self.stream)))
        parked_raw = await self.redis.hgetall(self.k("outbox", "parked"))
        parked_entries: list[tuple[str, dict[str, Any]]] = [
            (entry_id, json.loads(text)) for entry_id, text in parked_raw.items()
        ]
        parked = await self._items(parked_entries, state="parked")
        by_id = {entry_id: fields for entry_id, fields in parked_entries}
        parked = [
            OutboxItem(
                i.id,
                i.idempotency_key,
                i.channel,
                i.rule_id,
                i.alert_id,
                i.payload,
                attempts=by_id[i.id]["attempts"],
                last_error=by_id[i.id]["last_error"],
                state="parked",
            )
            for i in parked
        ]

        def order(item: OutboxItem) -> tuple[int, int]:
            ms, seq = item.id.split("-")
            return int(ms), int(seq)

        return sorted(pending + parked, key=order)

    @_translated
    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""
        alert_ids = await self.redis.lrange(self.k("history", ref.key), 0, limit - 1)
        if not alert_ids:
            return []
        texts = await self.redis.mget([self.k("alert", alert_id) for alert_id in alert_ids])
        return [event_from_json(text) for text in texts if text]
