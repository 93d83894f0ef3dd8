"""A per-key pacer: one send at a time per key, each at least `interval` after the last ended.

Platform-neutral (Slack channels, Discord channels). Keys are served first come, first
served, so the order of sends inside a key is the order of `acquire` calls. The clock and
the sleep are injected, so unit tests run on a virtual clock and never sleep.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_done: float = -math.inf
    not_before: float = -math.inf
    grant: int = 0
    watchdog: asyncio.TimerHandle | None = None


class KeyedPacer:
    """Paces sends per key: `await acquire(key)`, then `begin(key)` as the send starts and
    `release(key)` when it ended.

    A key is held from `acquire` until `release`. A holder that does not `begin` its send
    within `stale_after` seconds of real time (its item was skipped after the lease renewal
    failed, its task died) loses the key to the next in line. `defer(key, seconds)` pushes
    the key's next send back (a platform's Retry-After).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        stale_after: float = 10.0,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._stale_after = stale_after
        self._lanes: dict[Hashable, _Lane] = {}

    def _lane(self, key: Hashable) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        return lane

    async def acquire(self, key: Hashable) -> None:
        """Wait for the key's turn and its interval; the caller then holds the key."""
        lane = self._lane(key)
        await lane.lock.acquire()
        try:
            while True:
                due = max(lane.last_done + self.interval, lane.not_before)
                wait = due - self._clock()
                if wait <= 0:
                    break
                await self._sleep(wait)
        except BaseException:
            lane.lock.release()
            raise
        lane.grant += 1
        grant = lane.grant
        loop = asyncio.get_running_loop()
        lane.watchdog = loop.call_later(self._stale_after, self._expire, key, grant)

    def begin(self, key: Hashable) -> None:
        """The holder's send starts: it keeps the key until `release`, however long it takes."""
        lane = self._lanes.get(key)
        if lane is not None and lane.watchdog is not None:
            lane.watchdog.cancel()
            lane.watchdog = None

    def release(self, key: Hashable) -> None:
        """The send for `key` ended (delivered or not): start its interval now."""
        lane = self._lanes.get(key)
        if lane is None or not lane.lock.locked():
            return
        lane.last_done = self._clock()
        if lane.watchdog is not None:
            lane.watchdog.cancel()
            lane.watchdog = None
        lane.lock.release()

    def defer(self, key: Hashable, seconds: float) -> None:
        """No send for `key` before `seconds` from now."""
        lane = self._lane(key)
        lane.not_before = max(lane.not_before, self._clock() + seconds)

    def _expire(self, key: Hashable, grant: int) -> None:
        lane = self._lanes.get(key)
        if lane is not None and lane.grant == grant and lane.lock.locked():
            lane.watchdog = None
            self.release(key)


class WindowBudget:
    """At most `limit` uses per key in any `window` seconds (e.g. history calls per workspace)."""

    def __init__(
        self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._uses: dict[Hashable, list[float]] = {}

    def try_use(self, key: Hashable) -> float:
        """Use one unit and return 0, or return the seconds until one is free (nothing used)."""
        now = self._clock()
        uses = [at for at in self._uses.get(key, []) if at > now - self.window]
        self._uses[key] = uses
        if len(uses) >= self.limit:
            return uses[0] + self.window - now
        uses.append(now)
        return 0.0
