"""The Redis store's connection, error translation and scripts (layout: docs/stores.md)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from redis import exceptions as rexc
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from bot.domain.model import redact_url
from bot.ports.store import StoreError, StoreHealth, StoreUnavailable
from bot.stores import redis_lua, redis_lua_migrate, redis_lua_outbox
from bot.stores.redis_codec import split_redis_url

P = ParamSpec("P")
T = TypeVar("T")

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
            store: RedisBase = args[0]  # type: ignore[assignment]
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


SCRIPTS = {
    "add_sub": redis_lua.ADD_SUBSCRIPTION,
    "observe": redis_lua.OBSERVE_FALSE,
    "claim": redis_lua_outbox.CLAIM,
    "enqueue": redis_lua_outbox.ENQUEUE,
    "lease": redis_lua_outbox.LEASE,
    "renew": redis_lua_outbox.RENEW,
    "settle": redis_lua_outbox.SETTLE,
    "park_channels": redis_lua_outbox.PARK_CHANNELS,
    "migrate": redis_lua_migrate.MIGRATE,
    "list": redis_lua_outbox.LIST,
    "record_digest": redis_lua_outbox.RECORD_DIGEST,
    "purge": redis_lua_outbox.PURGE,
    "set_muted": redis_lua.SET_MUTED,
    "claim_request": redis_lua.CLAIM_REQUEST,
}


class RedisBase:
    """Connection, key names and scripts shared by the Redis store's parts."""

    def __init__(
        self, url: str, *, create: bool = True, time_source: Callable[[], float] = time.time
    ) -> None:
        self.url = url
        self.create = create
        """False: write nothing on open (no migration), e.g. to list the outbox."""
        self.time = time_source
        """Real time (epoch seconds) for leases, due times and back-off."""
        self._client_url, self.prefix = split_redis_url(url)
        self._redis: Redis | None = None
        self._raw: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self.schema_version: int | None = None
        """The prefix's layout number (`P layout`; docs/stores.md), once open."""

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
        """Connect, check the server answers, migrate an older layout (unless `create` is off)."""
        self._redis = Redis.from_url(
            self._client_url,
            decode_responses=True,
            socket_connect_timeout=3,
            socket_timeout=10,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 4),
            retry_on_error=[rexc.ConnectionError, rexc.TimeoutError],
        )
        self._scripts = {name: self._redis.register_script(text) for name, text in SCRIPTS.items()}
        try:
            await self._redis.ping()
            if self.create:
                await self._scripts["migrate"](keys=[], args=[self.prefix, repr(self.time())])
            layout = await self._redis.get(self.k("layout"))
            self.schema_version = int(layout) if layout is not None else None
        except (rexc.RedisError, OSError) as exc:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates 5.0.1
            self._redis = None
            raise StoreUnavailable(f"cannot reach store {redact_url(self.url)}: {exc}") from None

    async def script(self, name: str, args: list[Any]) -> Any:
        """Run one of the store's Lua scripts."""
        return await self._scripts[name](keys=[], args=args)

    @property
    def raw(self) -> Redis:
        """A client that returns bytes (charts), opened on first use."""
        if self._raw is None:
            self._raw = Redis.from_url(
                self._client_url, socket_connect_timeout=3, socket_timeout=10
            )
        return self._raw

    async def health(self) -> StoreHealth:
        """Reachable (PING), the layout number, and whether Redis keeps the outbox across a
        restart (AOF on)."""
        try:
            await self.redis.ping()
        except (rexc.RedisError, OSError) as exc:
            raise StoreUnavailable(f"store {redact_url(self.url)} unreachable: {exc}") from None
        detail = f"{redact_url(self.url)} reachable, schema {self.schema_version}"
        try:
            info = await self.redis.config_get("appendonly")
        except (rexc.RedisError, OSError) as exc:
            why = f"CONFIG GET refused ({type(exc).__name__})"
            return StoreHealth("Redis", detail, "warn", why)
        if str(info.get("appendonly", "no")) != "yes":
            return StoreHealth(
                "Redis", detail, "warn", "Redis AOF is off: a restart loses the outbox"
            )
        return StoreHealth("Redis", detail, "ok", "Redis AOF on")

    def run_lock(self) -> Path | None:
        """None: several bot processes share one Redis."""
        return None

    async def drop_connections(self) -> None:
        """Close pooled connections so the next command reconnects (after a failover)."""
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.connection_pool.disconnect()

    async def close(self) -> None:
        """Close the connection pools."""
        for client in (self._redis, self._raw):
            if client is not None:
                await client.aclose()  # type: ignore[attr-defined]  # types-redis predates 5.0.1
        self._redis = self._raw = None
