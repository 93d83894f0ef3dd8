"""Pacing sends to a chat platform: the one module both platforms' pacers come from.

Two mechanisms, because the platforms' rules differ (not a copy of one another):

- `WindowPacer`: sliding windows — at most N grants in any W seconds, globally and per
  key, granted in arrival order. Discord: 50 requests/s overall, 5 messages per channel
  in 5 s (`DiscordPacer` adds the REST trace that counts requests it did not grant).
- `KeyedPacer`: one send in flight per key, each at least `interval` after the previous
  one *ended*, pushed back by a platform's Retry-After, handed on when a holder stalls.
  Slack: 1 message per second per channel, in order.

`WindowBudget` is the sliding window without waiting (Slack's history look-ups per
workspace). Clocks and sleeps are injected, so tests run on a virtual clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


def forget_before(times: deque[float], cutoff: float) -> None:
    """Drop the times at or before `cutoff` from the front of a sorted window."""
    while times and times[0] <= cutoff:
        times.popleft()


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


@dataclass(frozen=True)
class PacerLimits:
    """The budgets: `global_per_second` in any second, `channel_messages` per key's window
    (the defaults are Discord's: 50 requests/s, 5 messages per channel in 5 s).

    Each window is lengthened by a margin (network jitter, clock skew between us and
    Discord), and global grants are at least `global_spacing` apart so a burst does not
    arrive all at once.
    """

    global_per_second: int = 50
    channel_messages: int = 5
    channel_window: float = 5.0
    margin: float = 0.1
    """Extra seconds added to each channel window."""
    global_margin: float = 0.05
    """Extra seconds added to the global one-second window."""
    global_spacing: float = 0.005

    def __post_init__(self) -> None:
        if self.global_per_second <= 0 or self.channel_messages <= 0 or self.channel_window <= 0:
            raise ValueError("pacer limits must be positive")


class _ChannelWindow:
    """The send times of one channel inside its sliding window."""

    __slots__ = ("lock", "sent")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.sent: deque[float] = deque()


class WindowPacer:
    """Grants sends within a global window and each key's window (sliding windows).

    Sends to one key are granted in arrival order (a lock per key); a grant is recorded
    in both budgets at the same instant, so neither can be overrun by the wait for the
    other. Discord's pacer is this with Discord's limits (bot/chat/discord/pacer.py).
    """

    def __init__(
        self,
        limits: PacerLimits | None = None,
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_channels: int = 10_000,
    ) -> None:
        self.limits = limits or PacerLimits()
        self._clock = clock
        self._sleep = sleep
        self._global: deque[float] = deque()
        self._channels: dict[str, _ChannelWindow] = {}
        self._max_channels = max_channels
        self.waited = 0.0
        """Total seconds spent waiting, for benchmarks and logs."""

    def _window(self, key: str) -> _ChannelWindow:
        window = self._channels.get(key)
        if window is None:
            if len(self._channels) >= self._max_channels:
                self._forget_idle()
            window = self._channels[key] = _ChannelWindow()
        return window

    def _forget_idle(self) -> None:
        span = self.limits.channel_window + self.limits.margin
        now = self._clock()
        for key, window in list(self._channels.items()):
            if not window.lock.locked() and (not window.sent or window.sent[-1] <= now - span):
                del self._channels[key]

    def delay(self, key: str, now: float) -> float:
        """Seconds until channel `key` may send at `now` under both budgets (0: now)."""
        limits = self.limits
        wait_global = 0.0
        span = 1.0 + limits.global_margin
        forget_before(self._global, now - span)
        if self._global:
            wait_global = self._global[-1] + limits.global_spacing - now
            if len(self._global) >= limits.global_per_second:
                wait_global = max(wait_global, self._global[0] + span - now)
        wait_channel = 0.0
        window = self._channels.get(key)
        if window is not None:
            span = limits.channel_window + limits.margin
            forget_before(window.sent, now - span)
            if len(window.sent) >= limits.channel_messages:
                wait_channel = window.sent[0] + span - now
        return max(wait_global, wait_channel, 0.0)

    async def acquire(self, key: str) -> None:
        """Wait until one more send to channel `key` fits both budgets, and take it."""
        window = self._window(key)
        async with window.lock:
            while True:
                now = self._clock()
                wait = self.delay(key, now)
                if wait <= 0:
                    window.sent.append(now)
                    self._global.append(now)
                    return
                self.waited += wait
                await self._sleep(wait)


class WindowBudget:
    """At most `limit` uses per key in any `window` seconds (e.g. history calls per workspace)."""

    def __init__(
        self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._uses: dict[Hashable, deque[float]] = {}

    def try_use(self, key: Hashable) -> float:
        """Use one unit and return 0, or return the seconds until one is free (nothing used)."""
        now = self._clock()
        uses = self._uses.setdefault(key, deque())
        forget_before(uses, now - self.window)
        if len(uses) >= self.limit:
            return uses[0] + self.window - now
        uses.append(now)
        return 0.0
