"""The Discord pacer: Discord's global request budget and each channel's message budget.

discord.py paces each route bucket from the `X-RateLimit-*` headers but not the global
50 requests/s, so a fan-out to many channels bounces off 429s (and Discord bans an IP
after 10,000 invalid requests in 10 minutes). The pacer keeps at most 50 sends in any
second (plus a margin) and each channel within its window (5 messages / 5 s), so 429s
stay a rare net rather than the way the bot learns the limits.

The windows are the shared `WindowPacer` (bot/chat/pacing.py) with Discord's limits; this
module adds what is Discord's own: counting the REST requests the pacer did not grant.
Time is injected (`clock` and `sleep`), so tests drive it without waiting.
"""

from __future__ import annotations

import contextvars
from types import SimpleNamespace
from typing import Any

import aiohttp

from bot.chat.pacing import PacerLimits, WindowPacer

_GRANTED: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "discord_pacer_granted", default=None
)
_UNLIMITED_PATHS = ("/interactions/", "/webhooks/")
"""Interaction responses and follow-ups are not under the global limit."""


__all__ = ["DiscordPacer", "PacerLimits"]


class DiscordPacer(WindowPacer):
    """The window pacer with Discord's limits, aware of requests sent around it."""

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
