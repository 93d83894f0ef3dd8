"""The Discord pacer: Discord's global request budget and each channel's message budget.

discord.py paces each route bucket from the `X-RateLimit-*` headers but not the global
50 requests/s, so a fan-out to many channels bounces off 429s (and Discord bans an IP
after 10,000 invalid requests in 10 minutes). The pacer spaces sends evenly under the
global rate and keeps each channel within its window (5 messages / 5 s), so 429s stay
a rare net rather than the way the bot learns the limits.

Time is injected (`clock` and `sleep`), so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PacerLimits:
    """The budgets: `global_per_second` evenly spaced, `channel_messages` per window."""

    global_per_second: float = 48.0
    channel_messages: int = 5
    channel_window: float = 5.0
    margin: float = 0.1
    """Extra seconds added to each channel window (clock skew, network jitter)."""

    def __post_init__(self) -> None:
        if self.global_per_second <= 0 or self.channel_messages <= 0 or self.channel_window <= 0:
            raise ValueError("pacer limits must be positive")


class _ChannelWindow:
    """The send times of one channel inside its sliding window."""

    __slots__ = ("lock", "sent")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.sent: deque[float] = deque()


class DiscordPacer:
    """Grants sends: evenly spaced under the global rate, and per channel within its window.

    Sends to one channel are granted in arrival order (a lock per channel); a grant is
    recorded in both budgets at the same instant, so neither can be overrun by the wait
    for the other.
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
        self._interval = 1.0 / self.limits.global_per_second
        self._next_global = float("-inf")
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
        wait_global = max(0.0, self._next_global - now)
        window = self._channels.get(key)
        wait_channel = 0.0
        if window is not None:
            span = self.limits.channel_window + self.limits.margin
            while window.sent and window.sent[0] <= now - span:
                window.sent.popleft()
            if len(window.sent) >= self.limits.channel_messages:
                wait_channel = window.sent[0] + span - now
        return max(wait_global, wait_channel)

    async def acquire(self, key: str) -> None:
        """Wait until one more send to channel `key` fits both budgets, and take it."""
        window = self._window(key)
        async with window.lock:
            while True:
                now = self._clock()
                wait = self.delay(key, now)
                if wait <= 0:
                    window.sent.append(now)
                    # Keep the schedule through small sleep overshoots (no drift), but
                    # never bank more than half an interval after an idle spell.
                    floor = now - self._interval / 2
                    self._next_global = max(self._next_global, floor) + self._interval
                    return
                self.waited += wait
                await self._sleep(wait)
