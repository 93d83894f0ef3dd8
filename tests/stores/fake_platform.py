"""A chat platform on 127.0.0.1 that drops resends by nonce, as Discord does with enforce_nonce.

`HttpSink` is a ChatSink that POSTs to it. Requests can be held open (`hold()`) to let a test
kill the sender while its delivery is in flight. `title_card` and `FixedClock` are the
caller-supplied card builder and trading clock the delivery worker takes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.domain.cards import Card
from bot.domain.model import Channel, OutboxItem
from bot.ports import Delivered, DeliveryOutcome, Failed, Gone, RetryAfter


async def title_card(item: OutboxItem, channel: Channel) -> Card:
    """A minimal card builder: the item's kind, rule and alert count as the title."""
    return Card(title=f"{item.kind} {item.rule_id} ({len(item.alert_ids)}) for {channel.language}")


@dataclass
class FixedClock:
    """Trading time that moves only when the test says so."""

    moment: datetime = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


@dataclass
class FakePlatform:
    """Records accepted messages per channel; a nonce seen before returns the first message."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    """POSTs received, resends included (`messages` holds what was kept, deduplicated)."""
    nonces_posted: list[str] = field(default_factory=list)
    """The nonce of every POST, in arrival order, resends included."""
    delay: float = 0.0
    """Seconds each POST takes before it is answered (a slow platform)."""
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    """channel id → (HTTP status, headers) answered instead of accepting (429, 404, 500)."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event | None = None
    _keep_held: bool = True
    _runner: web.AppRunner | None = None
    url: str = ""

    def hold(self, keep: bool) -> None:
        """Hold the next request open until `release()`; then accept it only if `keep`."""
        self._release = asyncio.Event()
        self._keep_held = keep
        self.arrived.clear()

    def release(self) -> None:
        """Let the held request finish."""
        if self._release is not None:
            self._release.set()

    def delivered(self, channel_id: str) -> list[str]:
        """Nonces accepted in a channel, in order."""
        return [m["nonce"] for m in self.messages if m["channel_id"] == channel_id]

    async def _post(self, request: web.Request) -> web.Response:
        self.requests += 1
        channel_id = request.match_info["channel_id"]
        body = await request.json()
        self.nonces_posted.append(body["nonce"])
        if self.delay:
            await asyncio.sleep(self.delay)
        if channel_id in self.answers:
            status, headers = self.answers[channel_id]
            return web.json_response({"message": "no"}, status=status, headers=headers)
        for message in self.messages:
            if message["channel_id"] == channel_id and message["nonce"] == body["nonce"]:
                return web.json_response(message)
        held, self._release = self._release, None
        if held is not None:
            self.arrived.set()
            await held.wait()
            if not self._keep_held:
                return web.json_response({"message": "lost"}, status=500)
        message = {"id": str(len(self.messages) + 1), "channel_id": channel_id, **body}
        self.messages.append(message)
        return web.json_response(message)

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._post)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/v10"

    async def stop(self) -> None:
        """Stop serving."""
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()


class HttpSink:
    """ChatSink posting Discord-style messages (`nonce` + `enforce_nonce`) to a base URL.

    2xx → Delivered; 429 → RetryAfter(Retry-After); 403/404 → Gone; anything else → Failed.
    """

    platform = "discord"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session: aiohttp.ClientSession | None = None
        self.paced = 0

    async def pace(self, channel: Channel) -> None:
        """No budgets on the fake platform; counts the calls."""
        self.paced += 1

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """POST the message and map the answer to an outcome."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        body = {"content": card.title, "nonce": idempotency_key, "enforce_nonce": True}
        url = f"{self.base_url}/channels/{channel.ref.channel_id}/messages"
        async with self._session.post(url, json=body) as response:
            if response.status < 300:
                return Delivered(str((await response.json())["id"]))
            if response.status == 429:
                return RetryAfter(float(response.headers.get("Retry-After", "1")))
            if response.status in (403, 404):
                return Gone(f"HTTP {response.status}")
            return Failed(f"HTTP {response.status}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
