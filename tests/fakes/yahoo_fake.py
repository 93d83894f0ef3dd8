"""A loopback Yahoo Finance: v8 chart, cookie, crumb and the push stream, for yfinance itself.

yfinance is handed a `LoopbackSession` (a `curl_cffi.requests.Session` that rewrites
`https://host/path` to `http://127.0.0.1:port/host/path`); the fake answers like Yahoo and
counts every request. `StreamFake` is a websocket server sending real `PricingData` frames
built with yfinance's own `pricing_pb2`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from curl_cffi import requests as curl_requests
from websockets.asyncio.server import Server, ServerConnection, serve
from yfinance.pricing_pb2 import PricingData

from tests.fakes.yahoo_chart import (
    AMSTERDAM,
    NEW_YORK,
    NOT_FOUND,
    SEOUL,
    TOKYO,
    Bar,
    SymbolData,
    chart_json,
)


class YahooFake:
    """A threaded HTTP server playing Yahoo; `symbols` is mutable between polls."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.symbols: dict[str, SymbolData] = {}
        self.requests: list[str] = []
        self.request_times: list[float] = []
        """When (on `clock`) each request arrived, parallel to `requests`."""
        self.rate_limited = False
        """True: every request is answered 429 "Too Many Requests", as Yahoo does."""
        self.clock = clock
        self.budget: tuple[int, float] | None = None
        """(requests, seconds): past that many in any window of `clock` seconds, 429."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> YahooFake:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def chart_requests(self) -> list[str]:
        """The chart paths requested so far."""
        return [path for path in self.requests if "/v8/finance/chart/" in path]

    def counts(self) -> Counter[str]:
        """Requests by kind: chart, crumb, cookie, other."""
        kinds: Counter[str] = Counter()
        for path in self.requests:
            if "/v8/finance/chart/" in path:
                kinds["chart"] += 1
            elif "getcrumb" in path:
                kinds["crumb"] += 1
            elif path.startswith("/fc.yahoo.com"):
                kinds["cookie"] += 1
            else:
                kinds["other"] += 1
        return kinds

    def reset_counts(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()
            self.request_times.clear()

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        with self._lock:
            now = self.clock()
            recent = (
                sum(1 for t in self.request_times if t > now - self.budget[1]) if self.budget else 0
            )
            self.requests.append(path)
            self.request_times.append(now)
        if self.rate_limited or (self.budget is not None and recent >= self.budget[0]):
            return 429, "text/plain", b"Too Many Requests"
        if "/v1/test/getcrumb" in path:
            return 200, "text/plain", b"fakecrumb"
        if "/v8/finance/chart/" in path:
            symbol = unquote(path.rsplit("/", 1)[-1])
            data = self.symbols.get(symbol)
            if data is None:
                return 404, "application/json", json.dumps(NOT_FOUND).encode()
            interval = query.get("interval", ["1d"])[0]
            body = chart_json(symbol, data, interval, query)
            return 200, "application/json", json.dumps(body).encode()
        if "/ws/fundamentals-timeseries/" in path:
            body = {"timeseries": {"result": [], "error": None}}
            return 200, "application/json", json.dumps(body).encode()
        if "/v7/finance/quote" in path:
            body = {"quoteResponse": {"result": [], "error": None}}
            return 200, "application/json", json.dumps(body).encode()
        return 404, "text/plain", b"not found"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                status, kind, body = fake.answer(parts.path, parse_qs(parts.query))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


class LoopbackSession(curl_requests.Session):  # type: ignore[misc]
    """A curl_cffi session that sends every https://host/path to the fake on loopback."""

    def __init__(self, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._port = port
        # An A3 cookie (expiry < 2e9) keeps yfinance from refetching fc.yahoo.com each time.
        self.cookies.jar.set_cookie(_a3_cookie())

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "https":
            query = f"?{parts.query}" if parts.query else ""
            url = f"http://127.0.0.1:{self._port}/{parts.netloc}{parts.path}{query}"
        return super().request(method, url, *args, **kwargs)


def _a3_cookie() -> Any:
    from http.cookiejar import Cookie

    return Cookie(
        version=0, name="A3", value="fake", port=None, port_specified=False,
        domain=".yahoo.com", domain_specified=True, domain_initial_dot=True, path="/",
        path_specified=True, secure=True, expires=1_900_000_000, discard=False, comment=None,
        comment_url=None, rest={}, rfc2109=False,
    )  # fmt: skip


def pricing_frame(
    symbol: str,
    price: float,
    epoch_ms: int,
    *,
    market_hours: int = 1,
    previous_close: float = 0.0,
    open_price: float = 0.0,
    change_percent: float = 0.0,
) -> str:
    """One `{"type": "pricing", "message": base64(PricingData)}` frame, as Yahoo sends it."""
    data = PricingData()
    data.id = symbol
    data.price = price
    data.time = epoch_ms
    data.market_hours = market_hours
    data.previous_close = previous_close
    data.open_price = open_price
    data.change_percent = change_percent
    message = base64.b64encode(data.SerializeToString()).decode()
    return json.dumps({"type": "pricing", "message": message})


class StreamFake:
    """A websocket server playing Yahoo's streamer; frames are pushed by the test."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.subscriptions: list[list[str]] = []
        self.connected = asyncio.Event()
        self._server: Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> StreamFake:
        """Listen on a loopback port (a free one by default)."""
        self._server = await serve(self._handle, "127.0.0.1", port)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    @property
    def url(self) -> str:
        """The ws:// URL of the fake."""
        return f"ws://127.0.0.1:{self.port}/?version=2"

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        self.connected.set()
        async for raw in connection:
            message = json.loads(raw)
            if "subscribe" in message:
                self.subscriptions.append(sorted(message["subscribe"]))

    async def wait_connections(self, count: int, timeout: float = 5.0) -> None:
        """Wait until `count` connections (including reconnects) were made."""
        async with asyncio.timeout(timeout):
            while len(self.connections) < count or len(self.subscriptions) < count:
                await asyncio.sleep(0.01)

    async def send(self, frames: Iterable[str]) -> None:
        """Send frames on the newest connection."""
        connection = self.connections[-1]
        for frame in frames:
            await connection.send(frame)

    async def close_clean(self) -> None:
        """Close the newest connection with a normal close handshake."""
        await self.connections[-1].close()

    def drop(self) -> None:
        """Abort the newest connection's TCP transport, with no close frame."""
        self.connections[-1].transport.abort()


def minute_bars(
    start_epoch: int, closes: Sequence[float | None], *, open_first: float | None = None
) -> list[Bar]:
    """1-minute bars from `start_epoch` with the given closes (None: a NaN row)."""
    bars = []
    for index, close in enumerate(closes):
        epoch = start_epoch + 60 * index
        opening = open_first if index == 0 and open_first is not None else close
        bars.append(Bar(epoch, opening, close, close, close, 100.0 if close else None))
    return bars


__all__ = [
    "AMSTERDAM",
    "NEW_YORK",
    "SEOUL",
    "TOKYO",
    "Bar",
    "LoopbackSession",
    "StreamFake",
    "SymbolData",
    "YahooFake",
    "minute_bars",
    "pricing_frame",
]
