"""The Yahoo push stream (`yf.AsyncWebSocket`) with a reconnect loop of our own.

yfinance 1.7's `listen()` spins at 100 % CPU (blocking the event loop) once the server
closes the socket and never reconnects after a drop. So this module uses yfinance for
connecting, subscribing (and its 15 s re-subscribe heartbeat) and decoding `PricingData`,
but reads the frames itself: a clean close or a drop ends one connection, and the loop
reconnects with exponential back-off (real time) and subscribes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.ports import MarketSession, Print, PrintBatch, PrintHandler

log = logging.getLogger(__name__)

SOURCE = "Yahoo stream"
DEFAULT_URL = "wss://streamer.finance.yahoo.com/?version=2"
_SESSIONS: dict[int, MarketSession] = {0: "pre", 1: "regular", 2: "post", 3: "post"}


def print_from_pricing(decoded: Mapping[str, Any]) -> Print | None:
    """A decoded `PricingData` dict as a `Print` (None when it carries no usable price).

    Fields equal to zero are omitted by protobuf: no `market_hours` means pre-market.
    """
    symbol = decoded.get("id")
    price = decoded.get("price")
    stamp = decoded.get("time")
    if not symbol or not price or not stamp:
        return None
    try:
        at = datetime.fromtimestamp(int(stamp) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    hours = int(decoded.get("market_hours", 0) or 0)

    def number(key: str) -> float | None:
        value = decoded.get(key)
        return float(value) if value else None

    return Print(
        symbol=str(symbol),
        price=float(price),
        at=at,
        market_session=_SESSIONS.get(hours, "regular"),
        source=SOURCE,
        open=number("open_price"),
        high=number("day_high"),
        low=number("day_low"),
        previous_close=number("previous_close"),
    )


Pause = Callable[[asyncio.Event, float], Awaitable[None]]


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class YahooStreamFeed:
    """`PriceFeed` over Yahoo's websocket: pushes one `PrintBatch` per decoded frame."""

    name = "yahoo-stream"

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        pause: Pause | None = None,
    ) -> None:
        self.url = url
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._pause = pause or wait_or_stop
        """Waits out a reconnect delay (ends early on stop); injected by tests."""
        self.connections = 0
        """Connections made so far (the first one and every reconnect)."""
        self.disconnects: list[str] = []
        """Why each connection ended ("closed by the server", "dropped: ...")."""

    async def fetch(self, symbols: Sequence[str]) -> PrintBatch:
        """A stream cannot be polled: an empty batch."""
        return PrintBatch({}, datetime.now(UTC), SOURCE)

    async def stream(
        self, symbols: Sequence[str], on_batch: PrintHandler, stop: asyncio.Event
    ) -> None:
        """Connect, subscribe and push prints until `stop`; reconnect after every end."""
        import yfinance as yf

        failures = 0
        while not stop.is_set():
            socket = yf.AsyncWebSocket(url=self.url, verbose=False)
            reason = "closed by the server"
            try:
                await socket.subscribe(list(symbols))
                self.connections += 1
                failures = 0
                log.info("stream connected url=%s symbols=%d", _safe(self.url), len(symbols))
                await self._read(socket, on_batch, stop)
            except asyncio.CancelledError:
                await self._close(socket)
                raise
            except Exception as exc:  # a drop, a refused connection, a bad frame
                reason = f"dropped: {type(exc).__name__}: {exc}"
                failures += 1
            await self._close(socket)
            if stop.is_set():
                break
            self.disconnects.append(reason)
            delay = min(self.backoff_max, self.backoff_initial * 2 ** max(0, failures - 1))
            log.warning("stream %s; reconnecting in %.1f s", reason, delay)
            await self._pause(stop, delay)

    async def _read(self, socket: Any, on_batch: PrintHandler, stop: asyncio.Event) -> None:
        connection = socket._ws  # yfinance keeps the websockets connection here
        watcher = asyncio.create_task(_close_on(stop, socket, connection))
        try:
            async for raw in connection:
                batch = _decode(socket, raw)
                if batch is not None:
                    await on_batch(batch)
        finally:
            watcher.cancel()

    @staticmethod
    async def _close(socket: Any) -> None:
        with contextlib.suppress(Exception):
            await socket.close()
        task = getattr(socket, "_heartbeat_task", None)
        if task is not None:
            with contextlib.suppress(BaseException):
                await task
        socket._ws = None


async def _close_on(stop: asyncio.Event, socket: Any, connection: Any) -> None:
    await stop.wait()
    heartbeat = getattr(socket, "_heartbeat_task", None)
    if heartbeat is not None:  # before the close, or it logs a send on a closed socket
        heartbeat.cancel()
    await connection.close()


def _decode(socket: Any, raw: str | bytes) -> PrintBatch | None:
    try:
        message = json.loads(raw)
    except ValueError:
        log.warning("stream: a frame that is not JSON was ignored")
        return None
    encoded = message.get("message") if isinstance(message, dict) else None
    if not encoded:
        return None
    decoded = socket._decode_message(encoded)  # yfinance's own PricingData decoding
    found = print_from_pricing(decoded)
    if found is None:
        return None
    return PrintBatch({found.symbol: found}, datetime.now(UTC), SOURCE)


def _safe(url: str) -> str:
    """The URL without its query string (which could carry a token)."""
    return url.split("?", 1)[0]
