"""A fake Slack on 127.0.0.1: Web API, response_url, file uploads and a Socket Mode websocket.

It records every call and keeps posted messages per channel. Like Slack it answers a
method it does not know with `unknown_method`, pages `conversations.history` by `limit` and
`cursor` (newest first, `has_more`, `response_metadata.next_cursor`), returns message
metadata only with `include_all_metadata`, refuses invalid Block Kit and metadata
(`tests.fakes.slack_limits`), can enforce one message per second per channel (no burst)
with real 429 + Retry-After on its `clock`, and answers on demand (`fail`) with an error
(`token_revoked`, `account_inactive`, `missing_scope`, `ratelimited`, …), an HTTP 5xx or
no answer at all (a timeout). It also answers channel errors, `oauth.v2.access`, and
`apps.connections.open` with a ws:// URL on itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_limits import (
    KNOWN_METHODS,
    Failure,
    block_problems,
    cursor,
    cursor_offset,
    message_problem,
)


@dataclass
class Workspace:
    """One workspace the fake knows: its team id, bot token and users."""

    team_id: str
    bot_token: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: str | None = None
    """An error every call with this token answers (`token_revoked`, `account_inactive`)."""


@dataclass
class SlackFake:
    """The fake; `url` is the Web API base (`…/api/`)."""

    workspaces: dict[str, Workspace] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    channel_errors: dict[str, str] = field(default_factory=dict)
    """channel id → the error chat.postMessage and uploads answer (channel_not_found, …)."""
    not_member: set[str] = field(default_factory=set)
    """Channels where the bot is not a member: uploads answer not_in_channel."""
    rate_interval: float = 0.0
    """> 0: at most one accepted post per channel per this many seconds (429 otherwise)."""
    clock: Callable[[], float] = time.time
    """Wall seconds: message timestamps and the per-channel rate limit (a FakeClock in tests
    that cross the limit, so no test waits for it)."""
    on_rate_limited: Callable[[float], None] | None = None
    """Called with the Retry-After of each 429 before it goes out (e.g. the clock's advance)."""
    failures: dict[str, list[Failure | None]] = field(default_factory=dict)
    rate_limited: int = 0
    hold_posts: int = 0
    """Accept this many next posts but never answer them (a send whose worker dies)."""
    drop_posts: int = 0
    """Accept this many next posts, then cut the connection without an answer."""
    post_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    oauth_codes: dict[str, Workspace] = field(default_factory=dict)
    envelopes: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    acks: list[dict[str, Any]] = field(default_factory=list)
    ack_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    base: str = ""
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_post: dict[str, float] = field(default_factory=dict)
    _held: list[asyncio.Event] = field(default_factory=list)
    _recorded: asyncio.Condition = field(default_factory=asyncio.Condition)

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        *,
        times: int = 1,
        after: int = 0,
        status: int = 200,
        retry_after: int | str | None = None,
        hang: bool = False,
        **extra: Any,
    ) -> None:
        """Answer `times` calls of `method` (after `after` normal ones) with an error, a 5xx,
        a 429 or nothing."""
        failure = Failure(error, status, retry_after, hang, extra)
        self.failures.setdefault(method, []).extend([None] * after + [failure] * times)

    def seed(self, channel: str, count: int, **fields: Any) -> list[dict[str, Any]]:
        """Store `count` messages in a channel as if posted (oldest first)."""
        return [self._store(channel, {"text": f"seeded {n}", **fields}) for n in range(count)]

    def add_workspace(self, team_id: str, token: str, **users: dict[str, Any]) -> Workspace:
        """Register a workspace with users (`U1={"locale": "ko-KR", "is_admin": True}`)."""
        workspace = Workspace(team_id, token, dict(users))
        self.workspaces[token] = workspace
        return workspace

    def posts(self, channel: str) -> list[dict[str, Any]]:
        """Messages accepted in a channel, in order (thread replies included)."""
        return self.messages.get(channel, [])

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of `method`, in order."""
        return [args for name, args in self.calls if name == method]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds (re-checked after each recorded call)."""
        async with asyncio.timeout(timeout), self._recorded:
            await self._recorded.wait_for(predicate)

    async def _record(self, method: str, args: dict[str, Any]) -> None:
        self.calls.append((method, args))
        async with self._recorded:
            self._recorded.notify_all()

    # -- Web API ---------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(await request.post()))
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            args.setdefault("token", auth[7:])
        for name in ("metadata", "blocks", "attachments"):
            if isinstance(args.get(name), str):
                with contextlib.suppress(json.JSONDecodeError):  # text: Slack refuses it
                    args[name] = json.loads(args[name])
        return args

    def _workspace(self, args: dict[str, Any]) -> Workspace | None:
        return self.workspaces.get(str(args.get("token", "")))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        await self._record(method, args)
        if method.startswith("oauth."):
            return await self._oauth(args)
        if method == "apps.connections.open" and str(args.get("token")).startswith("xapp-"):
            return _ok(True, url=self.base.replace("http://", "ws://") + "/socket")
        if method not in KNOWN_METHODS:
            return _ok(False, error="unknown_method")
        scripted = self.failures.get(method)
        failure = scripted.pop(0) if scripted else None
        if failure is not None:
            return await self._failure(method, failure)
        workspace = self._workspace(args)
        if workspace is None:
            return _ok(False, error="invalid_auth")
        if workspace.revoked is not None:
            return _ok(False, error=workspace.revoked)
        handler = getattr(self, "_" + method.replace(".", "_"))
        try:
            answer: web.Response = await handler(workspace, args)
        except _Dropped:
            assert request.transport is not None
            request.transport.abort()  # stored, but the answer never leaves
            raise asyncio.CancelledError from None
        return answer

    async def _failure(self, method: str, failure: Failure) -> web.Response:
        if failure.hang:
            held = asyncio.Event()
            self._held.append(held)
            await held.wait()
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
            if self.on_rate_limited is not None and str(failure.retry_after).isdigit():
                self.on_rate_limited(float(failure.retry_after))
        body = {"ok": False, "error": failure.error, **failure.extra}
        return web.json_response(body, status=failure.status, headers=headers)

    async def _auth_test(self, workspace: Workspace, args: dict[str, Any]) -> web.Response:
        return _ok(True, team_id=workspace.team_id, team="Desk", user_id="UBOT", bot_id="BBOT")

    async def _users_info(self, workspace: Workspace, args: dict[str, Any]) -> web.Response:
        user = workspace.users.get(str(args.get("user")))
        if user is None:
            return _ok(False, error="user_not_found")
        data = {"id": args["user"], "team_id": workspace.team_id, **user}
        if str(args.get("include_locale")).lower() not in ("true", "1"):
            data.pop("locale", None)
        return _ok(True, user=data)

    async def _chat_postMessage(self, workspace: Workspace, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel"))
        if channel in self.channel_errors:
            return _ok(False, error=self.channel_errors[channel])
        now = self.clock()
        last = self._last_post.get(channel, -math.inf)
        if self.rate_interval and now - last < self.rate_interval:
            self.rate_limited += 1
            wait = max(1, math.ceil(self.rate_interval - (now - last)))
            if self.on_rate_limited is not None:
                self.on_rate_limited(float(wait))
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        problem = message_problem(args)
        if problem is not None:
            return self._refused(problem, args)
        self._last_post[channel] = now
        message = self._store(channel, args)
        self.post_arrived.set()
        if self.drop_posts > 0:
            self.drop_posts -= 1
            raise _Dropped
        if self.hold_posts > 0:
            self.hold_posts -= 1
            held = asyncio.Event()
            self._held.append(held)
            await held.wait()
        return _ok(True, channel=channel, ts=message["ts"], message=message)

    @staticmethod
    def _refused(problem: str, args: dict[str, Any]) -> web.Response:
        if problem != "invalid_blocks":
            return _ok(False, error=problem)
        errors = block_problems(args.get("blocks"))
        messages = [f"[ERROR] {error}" for error in errors]
        return _ok(False, error=problem, errors=errors, response_metadata={"messages": messages})

    def _store(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"{self.clock():.0f}.{next(self._ts):06d}"
        message = {"ts": ts, "channel": channel, "text": args.get("text", "")}
        for name in ("blocks", "metadata", "thread_ts", "attachments"):
            if args.get(name):
                message[name] = args[name]
        self.messages.setdefault(channel, []).append(message)
        return message

    async def _chat_update(self, workspace: Workspace, args: dict[str, Any]) -> web.Response:
        problem = message_problem(args)
        if problem is not None:
            return self._refused(problem, args)
        for message in self.posts(str(args.get("channel"))):
            if message["ts"] == args.get("ts"):
                message.update(text=args.get("text", ""), blocks=args.get("blocks"))
        return _ok(True, ts=args.get("ts"))

    async def _conversations_history(
        self, workspace: Workspace, args: dict[str, Any]
    ) -> web.Response:
        channel = str(args.get("channel"))
        if channel in self.channel_errors:
            return _ok(False, error=self.channel_errors[channel])
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or math.inf)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        found = []
        for message in reversed(self.posts(channel)):  # newest first, like Slack
            if not oldest <= float(message["ts"]) <= latest or message.get("thread_ts"):
                continue
            shown = dict(message)
            if not with_metadata:
                shown.pop("metadata", None)
            found.append(shown)
        try:
            start = cursor_offset(str(args.get("cursor") or ""))
        except ValueError:
            return _ok(False, error="invalid_cursor")
        limit = min(max(int(args.get("limit") or 100), 1), 999)
        page = found[start : start + limit]
        has_more = start + limit < len(found)
        following = cursor(start + limit) if has_more else ""
        return _ok(
            True, messages=page, has_more=has_more, response_metadata={"next_cursor": following}
        )

    async def _files_getUploadURLExternal(
        self, workspace: Workspace, args: dict[str, Any]
    ) -> web.Response:
        file_id = f"F{next(self._ts)}"
        return _ok(True, file_id=file_id, upload_url=f"{self.base}/upload/{file_id}")

    async def _files_completeUploadExternal(
        self, workspace: Workspace, args: dict[str, Any]
    ) -> web.Response:
        channel = str(args.get("channel_id"))
        error = self.channel_errors.get(channel) or (
            "not_in_channel" if channel in self.not_member else None
        )
        if error:
            return _ok(False, error=error)
        files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args["files"]
        self.uploads.append({"channel": channel, "thread_ts": args.get("thread_ts"), **args})
        return _ok(True, files=[{"id": f["id"], "title": f.get("title", "")} for f in files])

    async def _oauth(self, args: dict[str, Any]) -> web.Response:
        workspace = self.oauth_codes.get(str(args.get("code")))
        if workspace is None:
            return _ok(False, error="invalid_code")
        self.workspaces[workspace.bot_token] = workspace
        return _ok(
            True,
            app_id="A1",
            access_token=workspace.bot_token,
            token_type="bot",
            scope="commands,chat:write",
            bot_user_id="UBOT",
            team={"id": workspace.team_id, "name": "Desk"},
            enterprise=None,
            is_enterprise_install=False,
            authed_user={"id": "UINSTALLER"},
        )

    # -- uploads, response_url, socket -----------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="OK")

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("blocks") is not None and block_problems(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append({"id": request.match_info["id"], **body})
        await self._record("response_url", body)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})

        async def pump() -> None:
            while True:
                await ws.send_json(await self.envelopes.get())

        pumping = asyncio.create_task(pump())
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(frame.data))
                    self.ack_arrived.set()
                    await self._record("socket_ack", self.acks[-1])
        finally:
            pumping.cancel()
        return ws

    def release_held(self) -> None:
        """Answer the held posts."""
        for held in self._held:
            held.set()

    def response_url(self, name: str = "r1") -> str:
        """A response_url on this fake, shaped like Slack's (`/commands/T…/id/secret`)."""
        return f"{self.base}/commands/T1/{name}/s3cretR3sp0nse{name}"

    async def start(self) -> SlackFake:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/commands/{team}/{id}/{secret}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + "/api/"
        return self

    async def close(self) -> None:
        """Stop serving."""
        self.release_held()
        if self._runner is not None:
            await self._runner.cleanup()


class _Dropped(Exception):
    """Raised by a handler whose connection is to be cut without an answer."""


def _ok(ok: bool, **body: Any) -> web.Response:
    return web.json_response({"ok": ok, **body})
