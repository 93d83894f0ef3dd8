"""A fake Discord on loopback: the REST API (aiohttp) and a gateway websocket.

discord.py reaches it through `[discord] api_base` (`Route.BASE`) and `[discord]
gateway_url` (`DiscordWebSocket.DEFAULT_GATEWAY`). It records every request, can refuse
channels (403 / 404), answer scripted 429s, and — for the benchmark — enforce Discord's
global 50 requests/s (sliding second) and 5 messages / 5 s per channel (a bucket window
from its first message, with `X-RateLimit-*` headers on successes and real 429s).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord_payloads import (
    APP_ID,
    BOT_ID,
    InteractionFactory,
    guild_payload,
    user_payload,
)

JSON = "application/json"


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


@dataclass
class Limits:
    """What the fake enforces (None: no limit)."""

    global_per_second: int | None = None
    channel_messages: int | None = None
    channel_window: float = 5.0


@dataclass
class _Bucket:
    start: float = 0.0
    used: int = 0


class FakeDiscord:
    """REST + gateway on 127.0.0.1; `await fake.start()`, then `fake.api_base`."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.requests: list[Recorded] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.channel_errors: dict[int, tuple[int, int]] = {}
        self.scripted_429: dict[int, deque[float]] = defaultdict(deque)
        self.accepted_nonces: dict[str, int] = {}
        self.duplicates = 0
        self.too_many = 0
        self.guilds: list[dict[str, Any]] = []
        self._ids = itertools.count(1_000_000)
        self._global: deque[float] = deque()
        self._buckets: dict[str, _Bucket] = {}
        self._sockets: list[web.WebSocketResponse] = []
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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close sockets and stop serving."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

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

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read(request)
        now = time.monotonic()
        record = Recorded(request.method, path, dict(request.query), body, files, 200, now)
        self.requests.append(record)
        if not path.startswith(("/interactions/", "/webhooks/")):
            wait = self._global_limited(now)
            if wait > 0:
                self.too_many += 1
                record.status = 429
                answer = {"message": "You are being rate limited.", "retry_after": round(wait, 3)}
                answer["global"] = True
                return self._answer(
                    429, answer, {"Via": "1.1 google", "X-RateLimit-Global": "true"}
                )
        response = await self._route(request.method, path, body, files, record, now)
        record.status = response.status
        return response

    async def _route(
        self,
        method: str,
        path: str,
        body: Any,
        files: dict[str, bytes],
        record: Recorded,
        now: float,
    ) -> web.Response:
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
            answer = {"interaction": {"id": parts[1], "type": 2}}
            return self._answer(200, answer)
        if parts[0] == "webhooks" and method == "POST":
            payload = body or {}
            return self._answer(200, self.message(0, payload.get("content") or "", payload))
        if parts[0] == "webhooks" and method == "DELETE":
            return self._answer(204, None)
        if parts[0] == "webhooks" and method == "PATCH":
            return self._answer(200, self.message(0, "", body or {}))
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            return self._channel_message(int(parts[1]), body or {}, record, now)
        return self._answer(404, {"message": "Unknown", "code": 0})

    def _channel_message(
        self, channel_id: int, body: dict[str, Any], record: Recorded, now: float
    ) -> web.Response:
        if channel_id in self.channel_errors:
            status, code = self.channel_errors[channel_id]
            return self._answer(status, {"message": "refused", "code": code})
        if self.scripted_429[channel_id]:
            retry = self.scripted_429[channel_id].popleft()
            self.too_many += 1
            answer = {"message": "rate limited", "retry_after": retry, "global": False}
            headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(retry)))}
            return self._answer(429, answer, headers)
        headers: dict[str, str] = {}
        limit = self.limits.channel_messages
        if limit is not None:
            window = self.limits.channel_window
            bucket = self._buckets.setdefault(str(channel_id), _Bucket(now, 0))
            if now >= bucket.start + window:
                bucket.start, bucket.used = now, 0
            reset_after = bucket.start + window - now
            if bucket.used >= limit:
                self.too_many += 1
                answer = {"message": "rate limited", "retry_after": round(reset_after, 3)}
                answer["global"] = False
                headers = self._bucket_headers(channel_id, limit, 0, reset_after)
                return self._answer(429, answer, {**headers, "Via": "1.1 google"})
            bucket.used += 1
            headers = self._bucket_headers(channel_id, limit, limit - bucket.used, reset_after)
        nonce = body.get("nonce")
        if nonce is not None and nonce in self.accepted_nonces:
            self.duplicates += 1  # Discord drops it and answers with the first message
            first = self.accepted_nonces[nonce]
            return self._answer(200, self.message(channel_id, "", body, first), headers)
        message = self.message(channel_id, body.get("content") or "", body)
        if nonce is not None:
            self.accepted_nonces[nonce] = int(message["id"])
        stored = {**body, "id": message["id"], "files": record.files}
        self.messages[channel_id].append(stored)
        return self._answer(200, message, headers)

    @staticmethod
    def _bucket_headers(
        channel_id: int, limit: int, remaining: int, reset_after: float
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
    def user(user_id: int = BOT_ID, name: str = "sputnik") -> dict[str, Any]:
        """A user object."""
        return user_payload(user_id, name)

    def application(self) -> dict[str, Any]:
        """The application object `login()` reads."""
        return {
            "id": str(APP_ID),
            "name": "sputnik",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.user(1, "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
        }

    def message(
        self, channel_id: int, content: str, body: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        """A message object as Discord returns it."""
        return {
            "id": str(message_id or next(self._ids)),
            "channel_id": str(channel_id),
            "type": 0,
            "content": content,
            "author": self.user(),
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": body.get("flags") or 0,
            "nonce": body.get("nonce"),
            "components": [],
        }

    # -- gateway -------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        try:
            async for frame in socket:
                data = json.loads(frame.data)
                if data["op"] == 1:
                    await socket.send_json({"op": 11})
                elif data["op"] == 2:
                    await self._ready(socket, data["d"])
        finally:
            self._sockets.remove(socket)
        return socket

    async def _ready(self, socket: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        self.identify_payload = identify
        ready = {
            "v": 10,
            "user": self.user(),
            "guilds": [{"id": g["id"], "unavailable": True} for g in self.guilds],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if identify.get("shard"):
            ready["shard"] = identify["shard"]
        await self._send(socket, "READY", ready)
        for guild in self.guilds:
            await self._send(socket, "GUILD_CREATE", guild)
        self.identified.set()

    async def _send(self, socket: web.WebSocketResponse, event: str, data: Any) -> None:
        await socket.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def dispatch(self, event: str, data: Any) -> None:
        """Send a dispatch (INTERACTION_CREATE, GUILD_DELETE, CHANNEL_DELETE) to every client."""
        for socket in list(self._sockets):
            await self._send(socket, event, data)


__all__ = ["APP_ID", "FakeDiscord", "InteractionFactory", "Limits", "guild_payload"]
