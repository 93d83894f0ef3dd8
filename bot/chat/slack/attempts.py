"""Which idempotency keys a Slack send was already started for — shared by every process.

Before each post the sink records its key; a key seen before (in any process on the same
store: a worker that timed out, or one that died mid-send and whose item another worker
leased) makes the sink look for the earlier post in the channel's history first. Memory
(one process), SQLite (beside the store) or Redis (under the store prefix). Records expire
after a day.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from bot.domain.model import redact_url
from bot.ports.store import StoreUnavailable
from bot.stores.redis_codec import split_redis_url

KEEP_SECONDS = 86_400
_MAX_IN_MEMORY = 20_000


class AttemptLog(Protocol):
    """Records the first time a send started for a key."""

    async def mark(self, key: str) -> float | None:
        """Record `key` now; the epoch of its first recorded start if it had one, else None."""
        ...

    async def forget(self, key: str) -> None:
        """The send surely posted nothing (a 429, gone, a refusal): forget the key."""
        ...


class MemoryAttempts:
    """One process's attempts (tests, benchmarks, a single instance)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._first: OrderedDict[str, float] = OrderedDict()

    async def mark(self, key: str) -> float | None:
        """Record `key`; its earlier start, if any."""
        previous = self._first.get(key)
        if previous is None:
            self._first[key] = self._wall()
            while len(self._first) > _MAX_IN_MEMORY:
                self._first.popitem(last=False)
        return previous

    async def forget(self, key: str) -> None:
        """Forget `key`."""
        self._first.pop(key, None)


class SqliteAttempts:
    """Attempts in a SQLite file (beside the store), shared by the processes on one machine."""

    def __init__(self, path: str, wall: Callable[[], float] = time.time) -> None:
        self._path = path
        self._wall = wall
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._marks = 0

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self._path, timeout=5.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sputnik_slack_attempts"
                " (key TEXT PRIMARY KEY, first REAL NOT NULL)"
            )
            self._db.commit()
        return self._db

    def _mark(self, key: str, now: float) -> float | None:
        db = self._connection()
        with db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO sputnik_slack_attempts VALUES (?, ?)", (key, now)
            ).rowcount
            if self._marks % 1000 == 0:
                db.execute(
                    "DELETE FROM sputnik_slack_attempts WHERE first < ?", (now - KEEP_SECONDS,)
                )
        if inserted:
            return None
        row = db.execute(
            "SELECT first FROM sputnik_slack_attempts WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else float(row[0])

    async def mark(self, key: str) -> float | None:
        """Record `key`; its earlier start, if any."""
        async with self._lock:
            self._marks += 1
            return await asyncio.to_thread(self._mark, key, self._wall())

    def _forget(self, key: str) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM sputnik_slack_attempts WHERE key = ?", (key,))

    async def forget(self, key: str) -> None:
        """Forget `key`."""
        async with self._lock:
            await asyncio.to_thread(self._forget, key)


class RedisAttempts:
    """Attempts in Redis under the store's prefix, shared by every instance."""

    def __init__(self, redis: Redis, prefix: str, wall: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = f"{prefix}slack:attempt:"
        self._wall = wall

    async def mark(self, key: str) -> float | None:
        """Record `key` (SET NX, a day); its earlier start, if any."""
        name = self._prefix + key
        if await self._redis.set(name, repr(self._wall()), nx=True, ex=KEEP_SECONDS):
            return None
        previous = await self._redis.get(name)
        return None if previous is None else float(previous)

    async def forget(self, key: str) -> None:
        """Forget `key`."""
        await self._redis.delete(self._prefix + key)


def attempt_log(store_url: str, sqlite_file: str) -> AttemptLog:
    """The attempt log that follows `[store] url` (`sqlite_file` for SQLite)."""
    if store_url.startswith("sqlite:"):
        return SqliteAttempts(sqlite_file)
    if store_url.startswith(("redis://", "rediss://", "unix://")):
        client_url, prefix = split_redis_url(store_url)
        return RedisAttempts(Redis.from_url(client_url, decode_responses=True), prefix)
    raise StoreUnavailable(f"no Slack attempt log for {redact_url(store_url)}")
