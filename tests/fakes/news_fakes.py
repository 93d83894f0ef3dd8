"""Loopback news servers: Yahoo's news endpoints for yfinance, RSS/Atom feeds, and an
OpenAI-compatible chat model.

`YahooNewsFake` extends the Yahoo fake with the two endpoints yfinance reads news from: the
`POST finance.yahoo.com/xhr/ncp` stream behind `Ticker.news` (items `{"id", "content": {...}}`)
and `GET query2…/v1/finance/search` behind `Search` (flat items with `relatedTickers`).
`FeedFake` and `ModelFake` are aiohttp servers in the test's own loop: a route can hang until
the test lets it go (an event, never a sleep), and each records what it was asked.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from tests.fakes.yahoo_fake import YahooFake


def ticker_item(
    title: str,
    published: datetime,
    *,
    publisher: str = "Reuters",
    link: str = "",
    tickers: Sequence[str] = (),
    summary: str = "",
) -> dict[str, Any]:
    """One item of `Ticker.news` as Yahoo sends it today (`content` form)."""
    uid = f"id-{abs(hash((title, published))) % 10**9}"
    return {
        "id": uid,
        "content": {
            "id": uid,
            "contentType": "STORY",
            "title": title,
            "summary": summary,
            "pubDate": published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provider": {"displayName": publisher, "url": "https://example.com/"},
            "canonicalUrl": {"url": link or f"https://finance.yahoo.com/news/{uid}.html"},
            "clickThroughUrl": {"url": link or f"https://finance.yahoo.com/news/{uid}.html"},
            "finance": {"stockTickers": [{"symbol": s} for s in tickers]},
        },
    }


def search_item(
    title: str,
    published: datetime,
    *,
    publisher: str = "Bloomberg",
    link: str = "",
    related: Sequence[str] = (),
) -> dict[str, Any]:
    """One item of `Search.news` (flat form, with Yahoo's related tickers)."""
    uid = f"s-{abs(hash((title, published))) % 10**9}"
    return {
        "uuid": uid,
        "title": title,
        "publisher": publisher,
        "link": link or f"https://finance.yahoo.com/m/{uid}/story.html",
        "providerPublishTime": int(published.timestamp()),
        "type": "STORY",
        "relatedTickers": list(related),
    }


class YahooNewsFake(YahooFake):
    """The Yahoo fake plus `Ticker.news` and `Search` news, per symbol."""

    def __init__(self) -> None:
        super().__init__()
        self.ticker_news: dict[str, list[dict[str, Any]]] = {}
        self.search_news: dict[str, list[dict[str, Any]]] = {}
        self.news_status = 200
        self.hold: threading.Event | None = None
        """While set to an unset Event, news requests wait on it (a Yahoo that never answers)."""
        self.news_asked: list[tuple[str, str]] = []
        self.held = threading.Event()
        """Set once a news request is waiting on `hold`."""

    def news_answer(self, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, bytes]:
        """(status, JSON body) for `/xhr/ncp` and `/v1/finance/search`."""
        if "/xhr/ncp" in path:
            symbols = json.loads(body or b"{}").get("serviceConfig", {}).get("s", [])
            symbol = symbols[0] if symbols else ""
            kind = "ticker"
        else:
            symbol = query.get("q", [""])[0]
            kind = "search"
        with self._lock:
            self.news_asked.append((kind, symbol))
        if self.hold is not None:
            self.held.set()
            self.hold.wait(30)
        if self.news_status != 200:
            return self.news_status, b"<html>Internal error</html>"
        if kind == "ticker":
            stream = self.ticker_news.get(symbol, [])
            answer = {"data": {"tickerStream": {"stream": stream}}}
        else:
            answer = {"quotes": [], "news": self.search_news.get(symbol, []), "lists": []}
        return 200, json.dumps(answer).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler_class()
        fake = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _news(self) -> bool:
                parts = urlsplit(self.path)
                if "/xhr/ncp" not in parts.path and "/v1/finance/search" not in parts.path:
                    return False
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(parts.path)
                status, data = fake.news_answer(parts.path, parse_qs(parts.query), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return True

            def do_GET(self) -> None:
                if not self._news():
                    super().do_GET()

            def do_POST(self) -> None:
                if not self._news():
                    super().do_GET()

        return Handler


@dataclass
class Route:
    """What one path answers: a status, a content type and a body — or it hangs."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    hang: bool = False


@dataclass
class _Server:
    runner: web.AppRunner | None = None
    port: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, app: web.Application) -> None:
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()


class FeedFake(_Server):
    """RSS/Atom feeds on loopback: `routes[path]` answers `GET path`."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.hanging = asyncio.Event()
        """Set when a request reached a hanging route."""

    def url(self, path: str) -> str:
        """The feed's http:// URL on loopback."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> FeedFake:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._answer)
        await self.serve(app)
        return self

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        if route.hang:
            self.hanging.set()
            await self.release.wait()
        return web.Response(
            status=route.status, body=route.body, headers={"Content-Type": route.content_type}
        )


Answer = str | int | None
"""A model answer: the message text, an HTTP status, or None (never answers)."""


class ModelFake(_Server):
    """An OpenAI-compatible `POST /v1/chat/completions`; `answer(request_json)` decides."""

    def __init__(self, answer: Callable[[dict[str, Any]], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.waiting = asyncio.Event()
        """Set when a request is being held (the model that times out)."""

    @property
    def base_url(self) -> str:
        """What `[summary] base_url` points at."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> ModelFake:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        await self.serve(app)
        return self

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("Authorization", ""))
        answer = self.answer(body)
        if answer is None:
            self.waiting.set()
            await self.release.wait()
            return web.Response(status=503)
        if isinstance(answer, int):
            return web.json_response({"error": {"message": "nope"}}, status=answer)
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
            }
        )


def rss(
    items: Sequence[tuple[str, datetime, str]],
    *,
    title: str = "Chip Wire",
    language: str = "en",
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 2.0 document of (title, published, link) items, in `encoding`."""
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        f"<pubDate>{p.astimezone(UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        f"<description>{t}</description></item>"
        for t, p, link in items
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.com/</link><language>{language}</language>"
        f"{entries}</channel></rss>"
    )
    return text.encode(encoding)


def atom(items: Sequence[tuple[str, datetime, str]], *, title: str = "Chip Atom") -> bytes:
    """An Atom 1.0 document of (title, updated, link) entries."""
    entries = "".join(
        f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id>'
        f"<updated>{p.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}</updated></entry>"
        for t, p, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:x</id><updated>2025-01-27T00:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()
