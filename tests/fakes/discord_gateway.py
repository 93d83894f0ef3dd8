"""The fake Discord's gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, dispatches."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord_payloads import APP_ID, BOT_ID, user_payload


@dataclass
class Interaction:
    """An interaction the fake dispatched: its token, when, and whether it was answered."""

    token: str
    created: float
    acknowledged: bool = False


class FakeGateway:
    """The websocket half of `FakeDiscord` (a mixin: the REST half owns the state)."""

    token: str | None
    clock: Callable[[], float]
    guilds: list[dict[str, Any]]
    interactions: dict[str, Interaction]
    identify_payload: dict[str, Any] | None
    identified: asyncio.Event
    _sockets: list[web.WebSocketResponse]
    _seq: itertools.count[int]

    @property
    def gateway_url(self) -> str:  # overridden by FakeDiscord
        raise NotImplementedError

    @staticmethod
    def user(user_id: int = BOT_ID, name: str = "sputnik") -> dict[str, Any]:
        """A user object."""
        return user_payload(user_id, name)

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
        if self.token is not None and identify.get("token") != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
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

    async def dispatch(self, event: str, data: Any, *, age: float = 0.0) -> None:
        """Send a dispatch (INTERACTION_CREATE, GUILD_DELETE, CHANNEL_DELETE) to every client.

        An INTERACTION_CREATE starts that interaction's 3-second answer window on the fake's
        clock, `age` seconds ago (a gateway that lagged); dispatched again (a replay after a
        resume), it keeps its first window and whether it was answered.
        """
        if event == "INTERACTION_CREATE" and str(data["id"]) not in self.interactions:
            created = self.clock() - age
            self.interactions[str(data["id"])] = Interaction(str(data["token"]), created)
        for socket in list(self._sockets):
            await self._send(socket, event, data)
