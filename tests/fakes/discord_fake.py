"""A fake Discord on loopback: the REST API (aiohttp) and a gateway websocket.

discord.py reaches it through `[discord] api_base` (`Route.BASE`) and `[discord]
gateway_url` (`DiscordWebSocket.DEFAULT_GATEWAY`). It is as strict as Discord, on a clock
the test controls (`FakeClock` by default; pass `time.monotonic` for real time):

- the global 50 requests/s (sliding second; interaction responses and webhooks are not
  counted) and 5 messages / 5 s per channel, with real 429s (`X-RateLimit-*`, `Retry-After`,
  `Via`, and `"global": true` on global ones);
- `Authorization: Bot <token>` when built with a `token` (401 otherwise; IDENTIFY with
  another token closes the gateway with 4004);
- a `nonce` deduplicates only with `enforce_nonce` (within `nonce_window` seconds) and may
  not exceed 25 characters; message and embed limits (`tests.fakes.discord_limits`);
- an interaction is answered once (40060 after that) and within 3 s (10062 after);
  its webhook token lives 15 minutes.

It records every request, can refuse channels (403 / 404 / 5xx), answer scripted 429s,
hold (`hold_channels`) or drop (`drop_channels`) a channel's sends.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.clock import FakeClock
from tests.fakes.discord_gateway import FakeGateway, Interaction
from tests.fakes.discord_limits import problems
from tests.fakes.discord_payloads import (
    APP_ID,
    InteractionFactory,
    application_payload,
    guild_payload,
    message_payload,
)

JSON = "application/json"
UNLIMITED = ("/interactions/", "/webhooks/")
"""Interaction responses and follow-ups are outside the global limit and need no token."""
INTERACTION_DEADLINE = 3.0
WEBHOOK_TOKEN_LIFETIME = 15 * 60.0


@dataclass
class Recorded:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: dict[str, bytes]
    status: int
    at: float
    headers: dict[str, str] | None = None


@dataclass
class Limits:
    """What the fake enforces (None: no limit); Discord's values by default."""

    global_per_second: int | None = 50
    channel_messages: int | None = 5
    channel_window: float = 5.0


@dataclass
class _Bucket:
    start: float = 0.0
    used: int = 0


class FakeDiscord(FakeGateway):
    """REST + gateway on 127.0.0.1; `await fake.start()`, then `fake.api_base`."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        token: str | None = None,
        clock: Callable[[], float] | None = None,
        nonce_window: float = 300.0,
    ) -> None:
        self.limits = limits or Limits()
        self.token = token
        self.clock: Callable[[], float] = clock or FakeClock(1000.0)
        self.nonce_window = nonce_window
        self.requests: list[Recorded] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.channel_errors: dict[int, tuple[int, int]] = {}
        self.scripted_429: dict[int, deque[float]] = defaultdict(deque)
        self.hold_channels: set[int] = set()
        """Sends to these channels are accepted and stored but never answered."""
        self.drop_channels: set[int] = set()
        """Sends to these channels are stored, then the connection is cut without an answer."""
        self.accepted_nonces: dict[str, tuple[int, float]] = {}
        self.duplicates = 0
        self.too_many = 0
        self.on_rate_limited: Callable[[float], None] | None = None
        """Called with `retry_after` before each 429 goes out (e.g. the clock's `advance`)."""
        self.guilds: list[dict[str, Any]] = []
        self.interactions: dict[str, Interaction] = {}
        self.identify_payload: dict[str, Any] | None = None
        self._ids = itertools.count(1_000_000)
        self._global: deque[float] = deque()
        self._buckets: dict[str, _Bucket] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._held: list[asyncio.Event] = []
        self._seq = itertools.count(1)
        self.identified = asyncio.Event()
        self.messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close sockets, answer held sends and stop serving."""
        self.release_held()
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def release_held(self) -> None:
        """Answer the held sends."""
        for held in self._held:
            held.set()

    @property
    def api_base(self) -> str:
        """What `Route.BASE` must be."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What `DiscordWebSocket.DEFAULT_GATEWAY` must be."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        """Recorded requests by method and path prefix (after /api/v10)."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def spend_global(self, count: int) -> None:
        """Take `count` slots of the global window now (requests made by another process)."""
        self._global.extend([self.clock()] * count)

    # -- REST ----------------------------------------------------------------------------

    def _answer(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> web.Response:
        if status == 204:
            return web.Response(status=204, headers=headers)
        text = "" if body is None else json.dumps(body)
        return web.Response(
            status=status,
            body=text.encode(),
            headers={"Content-Type": JSON, **(headers or {})},
        )

    async def _read(self, request: web.Request) -> tuple[Any, dict[str, bytes]]:
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":
                    payload = json.loads(data)
                else:
                    files[part.filename or part.name or "file"] = bytes(data)
            return payload, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), files

    def _global_limited(self, now: float) -> float:
        limit = self.limits.global_per_second
        if limit is None:
            return 0.0
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= limit:
            return self._global[0] + 1.0 - now
        self._global.append(now)
        return 0.0

    def _rate_limited(
        self, retry_after: float, headers: dict[str, str], *, is_global: bool
    ) -> web.Response:
        self.too_many += 1
        if self.on_rate_limited is not None:
            self.on_rate_limited(retry_after)
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": is_global,
            "code": 0,
        }
        headers = {
            **headers,
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return self._answer(429, body, headers)

    def _authorized(self, request: web.Request, path: str) -> bool:
        if self.token is None or path.startswith(UNLIMITED):
            return True
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read(request)
        now = self.clock()
        record = Recorded(
            request.method, path, dict(request.query), body, files, 200, now, dict(request.headers)
        )
        self.requests.append(record)
        if not self._authorized(request, path):
            record.status = 401
            return self._answer(401, {"message": "401: Unauthorized", "code": 0})
        if not path.startswith(UNLIMITED):
            wait = self._global_limited(now)
            if wait > 0:
                record.status = 429
                return self._rate_limited(wait, {}, is_global=True)
        response = await self._route(request, path, body, files, record, now)
        record.status = response.status
        return response

    async def _route(
        self,
        request: web.Request,
        path: str,
        body: Any,
        files: dict[str, bytes],
        record: Recorded,
        now: float,
    ) -> web.StreamResponse:
        method = request.method
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return self._answer(200, self.user())
        if path == "/oauth2/applications/@me":
            return self._answer(200, self.application())
        if path in ("/gateway", "/gateway/bot"):
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return self._answer(
                200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}
            )
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            scope = "global" if len(parts) == 3 else parts[3]
            echoed = [
                {**c, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1"}
                for c in body
            ]
            self.commands[scope] = echoed
            return self._answer(200, echoed)
        if parts[0] == "applications" and parts[-1] == "commands":
            return self._answer(200, self.commands.get("global", []))
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], parts[2], body or {}, files, now)
        if parts[0] == "webhooks":
            return self._webhook(method, parts, body or {}, files, now)
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            return await self._channel_message(request, int(parts[1]), body or {}, record, now)
        return self._answer(404, {"message": "404: Not Found", "code": 0})

    # -- interactions --------------------------------------------------------------------

    def _callback(
        self, interaction_id: str, token: str, body: dict[str, Any], files: dict[str, bytes],
        now: float,
    ) -> web.Response:  # fmt: skip
        known = self.interactions.get(interaction_id)
        if known is None or known.token != token or now - known.created > INTERACTION_DEADLINE:
            return self._answer(404, {"message": "Unknown interaction", "code": 10062})
        if known.acknowledged:
            answer = {"message": "Interaction has already been acknowledged.", "code": 40060}
            return self._answer(400, answer)
        if body.get("type") in (4, 7):
            refused = problems(body.get("data") or {}, files=len(files))
            if refused is not None:
                return self._invalid(*refused)
        known.acknowledged = True
        return self._answer(200, {"interaction": {"id": interaction_id, "type": 2}})

    def _webhook(
        self, method: str, parts: list[str], body: dict[str, Any], files: dict[str, bytes],
        now: float,
    ) -> web.Response:  # fmt: skip
        token = parts[2] if len(parts) > 2 else ""
        known = next((i for i in self.interactions.values() if i.token == token), None)
        if known is None:
            return self._answer(404, {"message": "Unknown Webhook", "code": 10015})
        if now - known.created > WEBHOOK_TOKEN_LIFETIME:
            return self._answer(401, {"message": "Invalid Webhook Token", "code": 50027})
        if method == "DELETE":
            return self._answer(204, None)
        if method == "POST":
            refused = problems(body, files=len(files))
            if refused is not None:
                return self._invalid(*refused)
            return self._answer(200, self.message(0, body.get("content") or "", body))
        if method == "PATCH":
            refused = problems({**body, "content": body.get("content") or "-"})
            if refused is not None:
                return self._invalid(*refused)
            return self._answer(200, self.message(0, "", body))
        return self._answer(405, {"message": "405: Method Not Allowed", "code": 0})

    def _invalid(self, code: int, errors: dict[str, Any]) -> web.Response:
        if code == 50006:
            return self._answer(400, {"message": "Cannot send an empty message", "code": 50006})
        return self._answer(400, {"message": "Invalid Form Body", "code": code, "errors": errors})

    # -- channel messages ----------------------------------------------------------------

    async def _channel_message(
        self, request: web.Request, channel_id: int, body: dict[str, Any], record: Recorded,
        now: float,
    ) -> web.StreamResponse:  # fmt: skip
        if channel_id in self.channel_errors:
            status, code = self.channel_errors[channel_id]
            return self._answer(status, {"message": "refused", "code": code})
        if self.scripted_429[channel_id]:
            retry = self.scripted_429[channel_id].popleft()
            return self._rate_limited(retry, {}, is_global=False)
        headers: dict[str, str] = {}
        limit = self.limits.channel_messages
        if limit is not None:
            window = self.limits.channel_window
            bucket = self._buckets.setdefault(str(channel_id), _Bucket(now, 0))
            if now >= bucket.start + window:
                bucket.start, bucket.used = now, 0
            reset_after = bucket.start + window - now
            if bucket.used >= limit:
                limited = self._bucket_headers(channel_id, limit, 0, reset_after)
                return self._rate_limited(reset_after, limited, is_global=False)
            bucket.used += 1
            headers = self._bucket_headers(channel_id, limit, limit - bucket.used, reset_after)
        refused = problems(body, files=len(record.files))
        if refused is not None:
            return self._invalid(*refused)
        nonce = body.get("nonce")
        key = str(nonce) if nonce is not None and body.get("enforce_nonce") else None
        earlier = self.accepted_nonces.get(key) if key is not None else None
        if earlier is not None and now - earlier[1] <= self.nonce_window:
            self.duplicates += 1  # Discord drops it and answers with the first message
            return self._answer(200, self.message(channel_id, "", body, earlier[0]), headers)
        message = self.message(channel_id, body.get("content") or "", body)
        if key is not None:
            self.accepted_nonces[key] = (int(message["id"]), now)
        stored = {**body, "id": message["id"], "files": record.files}
        self.messages[channel_id].append(stored)
        if channel_id in self.drop_channels:
            assert request.transport is not None
            request.transport.abort()  # stored, but the answer never leaves
            raise asyncio.CancelledError
        if channel_id in self.hold_channels:
            held = asyncio.Event()
            self._held.append(held)
            await held.wait()
        return self._answer(200, message, headers)

    def _bucket_headers(
        self, channel_id: int, limit: int, remaining: int, reset_after: float
    ) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{max(reset_after, 0.001):.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": "msgbucket",
        }

    # -- payloads ------------------------------------------------------------------------

    @staticmethod
    def application() -> dict[str, Any]:
        """The application object `login()` reads."""
        return application_payload()

    def message(
        self, channel_id: int, content: str, body: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        """A message object as Discord returns it."""
        return message_payload(message_id or next(self._ids), channel_id, content, body)


__all__ = ["APP_ID", "FakeDiscord", "InteractionFactory", "Limits", "guild_payload"]
