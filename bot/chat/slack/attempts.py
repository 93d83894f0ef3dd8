"""Which idempotency keys a Slack send was already started for — shared by every process.

Before each post the sink records its key; a key seen before (in any process on the same
store: a worker that timed out, or one that died mid-send and whose item another worker
leased) makes the sink look for the earlier post in the channel's history first. Memory
(one process), or the key-value namespace the bot's store hands the Slack adapter (every
process on that store). Records expire after a day.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from bot.ports.store import KeyValue

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


class StoredAttempts:
    """Attempts in the Slack adapter's key-value namespace of the bot's store, shared by every
    process on that store (a day each)."""

    def __init__(self, kv: KeyValue, wall: Callable[[], float] = time.time) -> None:
        self._kv = kv
        self._prefix = "attempt:"
        self._wall = wall

    async def mark(self, key: str) -> float | None:
        """Record `key` (set if absent, a day); its earlier start, if any."""
        name = self._prefix + key
        if await self._kv.set(name, repr(self._wall()), ttl_seconds=KEEP_SECONDS, only_new=True):
            return None
        previous = await self._kv.get(name)
        return None if previous is None else float(previous)

    async def forget(self, key: str) -> None:
        """Forget `key`."""
        await self._kv.delete(self._prefix + key)
