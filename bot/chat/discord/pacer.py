"""The Discord pacer: Discord's global request budget and each channel's message budget.

discord.py paces each route bucket from the `X-RateLimit-*` headers but not the global
50 requests/s, so a fan-out to many channels bounces off 429s (and Discord bans an IP
after 10,000 invalid requests in 10 minutes). The pacer keeps at most 50 sends in any
second (plus a margin) and each channel within its window (5 messages / 5 s), so 429s
stay a rare net rather than the way the bot learns the limits.

Time is injected (`clock` and `sleep`), so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_GRANTED: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "discord_pacer_granted", default=None
)
_UNLIMITED_PATHS = ("/interactions/", "/webhooks/")
"""Interaction responses and follow-ups are not under the global limit."""


@dataclass(frozen=True)
class PacerLimits:
    """The budgets: `global_per_second` in any second, `channel_messages` per channel window.

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


class DiscordPacer:
    """Grants sends within the global window and each channel's window (sliding windows).

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
        while self._global and self._global[0] <= now - span:
            self._global.popleft()
        if self._global:
            wait_global = self._global[-1] + limits.global_spacing - now
            if len(self._global) >= limits.global_per_second:
                wait_global = max(wait_global, self._global[0] + span - now)
        wait_channel = 0.0
        window = self._channels.get(key)
        if window is not None:
            span = limits.channel_window + limits.margin
            while window.sent and window.sent[0] <= now - span:
                window.sent.popleft()
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

    def record_unpaced(self) -> None:
        """Count a request the pacer did not grant (login, a fetch, discord.py's own retry)."""
        self._global.append(self._clock())

    def granted(self) -> contextvars.Token[list[bool] | None]:
        """Mark the current task's next request as granted (call right before sending)."""
        return _GRANTED.set([False])

    @staticmethod
    def release(token: contextvars.Token[list[bool] | None]) -> None:
        """End the mark set by `granted`."""
        _GRANTED.reset(token)

    def trace(self, api_base: str) -> aiohttp.TraceConfig:
        """An aiohttp trace that counts every REST request the pacer did not grant.

        Given to discord.py's client (`http_trace=`), it sees each real attempt: the first
        attempt of a granted send is already counted; anything else under `api_base`
        (login, command sync, a retry after a 429) takes a slot of the global window.
        """
        config = aiohttp.TraceConfig()

        async def on_request_start(
            session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
        ) -> None:
            url = str(params.url)
            if not url.startswith(api_base) or any(p in url for p in _UNLIMITED_PATHS):
                return
            mark = _GRANTED.get()
            if mark is not None and not mark[0]:
                mark[0] = True
                return
            self.record_unpaced()

        config.on_request_start.append(on_request_start)
        return config
