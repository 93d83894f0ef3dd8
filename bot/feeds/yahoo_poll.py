"""The yfinance poll: one `yf.download` per poll for every watched symbol.

yfinance never raises from `download`: a failed symbol comes back as NaN columns and a
line on the `yfinance` logger, a 429 as an empty frame and a logged `YFRateLimitError`.
This module listens to that logger during each call to tell "no data", "unknown symbol"
and "rate limited" apart, and turns the last 1-minute bar of each symbol into a `Print`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from bot.domain.markets import market_for_symbol
from bot.ports import BarBatch, Print, PrintBatch, PrintHandler

log = logging.getLogger(__name__)

SOURCE = "Yahoo poll"
BAR_SOURCE = "Yahoo daily bar"
BAR_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")
_FIELDS = {"open": "Open", "high": "High", "low": "Low", "close": "Close"}
_FAILED = re.compile(r"\[(?P<symbols>[^\]]*)\]:\s*(?P<reason>.*)")
_ONE_FAILED = re.compile(r"\$(?P<symbol>[^:\s]+):\s*(?P<reason>.*)")
_UNKNOWN_HINTS = ("symbol may be delisted", "No data found", "Not Found")
_RATE_HINTS = ("YFRateLimitError", "Too Many Requests", "Rate limited")

SessionFactory = Callable[[], Any]
"""Builds the `curl_cffi.requests.Session` handed to yfinance (None: yfinance's own)."""


class _Capture(logging.Handler):
    """Collects the yfinance logger's messages during one download."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _import_yfinance() -> Any:
    import yfinance as yf

    return yf


def silence_pandas4_warnings() -> None:
    """yfinance 1.7 trips pandas 3 deprecations on every call; not ours to fix."""
    try:
        from pandas.errors import Pandas4Warning
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=Pandas4Warning)


def forget_crumb() -> None:
    """After a 429 yfinance keeps the text "Too Many Requests" as its crumb and would send
    it with every later request: drop it so the next poll fetches a real one."""
    data = getattr(_import_yfinance(), "data", None)
    holder = getattr(data, "YfData", None)
    if holder is not None:
        instance = holder()
        if getattr(instance, "_crumb", None) is not None:
            instance._crumb = None


def parse_failures(messages: Sequence[str]) -> tuple[dict[str, str], bool]:
    """From yfinance's log lines: {symbol: reason code} and whether we were rate limited."""
    failed: dict[str, str] = {}
    rate_limited = False
    for message in messages:
        if any(hint in message for hint in _RATE_HINTS):
            rate_limited = True
        for line in message.splitlines():
            match = _FAILED.search(line) or None
            if match is not None:
                names = [n.strip().strip("'\"") for n in match["symbols"].split(",")]
                symbols, reason = names, match["reason"]
            elif (one := _ONE_FAILED.search(line)) is not None:
                symbols, reason = [one["symbol"]], one["reason"]
            else:
                continue
            code = "unknown_symbol" if any(h in reason for h in _UNKNOWN_HINTS) else "no_data"
            if any(hint in reason for hint in _RATE_HINTS):
                code = "rate_limited"
            for symbol in symbols:
                if symbol:
                    failed[symbol] = code
    return failed, rate_limited


class YahooPollFeed:
    """`PriceFeed` over `yf.download(interval="1m", prepost=True)`: one call per poll."""

    name = "yahoo-poll"
    bar_source = BAR_SOURCE

    def __init__(self, session_factory: SessionFactory | None = None, timeout: float = 10) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self._timeout = timeout
        self._lock = threading.Lock()

    def _http(self) -> Any:
        if self._session is None and self._session_factory is not None:
            self._session = self._session_factory()
        return self._session

    def download(self, symbols: Sequence[str], **kwargs: Any) -> tuple[pd.DataFrame, list[str]]:
        """One `yf.download` for `symbols` (blocking); the frame and yfinance's log lines."""
        yf = _import_yfinance()
        capture = _Capture()
        logger = logging.getLogger("yfinance")
        with self._lock:
            logger.addHandler(capture)
            try:
                with warnings.catch_warnings():
                    silence_pandas4_warnings()
                    frame = yf.download(
                        list(symbols),
                        progress=False,
                        auto_adjust=False,
                        session=self._http(),
                        timeout=self._timeout,
                        **kwargs,
                    )
            finally:
                logger.removeHandler(capture)
        if frame is None:
            frame = pd.DataFrame()
        return frame, capture.messages

    async def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> BarBatch:
        """Every daily bar from `start` to `end` (exclusive) in one `yf.download`; yfinance's
        per-symbol error lines are held back and summarised as the batch's `failures`."""
        with _YahooErrors() as errors:
            frame, _ = await asyncio.to_thread(
                self.download,
                list(symbols),
                start=start.isoformat(),
                end=end.isoformat(),
                interval="1d",
            )
        rows = {symbol: frame_rows(frame, symbol) for symbol in symbols}
        return BarBatch(rows, BAR_SOURCE, errors.summary())

    async def fetch(self, symbols: Sequence[str]) -> PrintBatch:
        """The last 1-minute print of every symbol (pre- and post-market included)."""
        frame, messages = await asyncio.to_thread(
            self.download, symbols, period="1d", interval="1m", prepost=True
        )
        batch = prints_from_frame(frame, messages, symbols, datetime.now(UTC))
        if batch.rate_limited:
            forget_crumb()
        return batch

    async def stream(
        self, symbols: Sequence[str], on_batch: PrintHandler, stop: asyncio.Event
    ) -> None:
        """A poll feed pushes nothing (the scheduler polls it)."""
        return


def _column(frame: pd.DataFrame, field: str, symbol: str) -> pd.Series | None:
    key = (field, symbol.upper())
    if isinstance(frame.columns, pd.MultiIndex) and key in frame.columns:
        return frame[key].astype(float)
    return None


def prints_from_frame(
    frame: pd.DataFrame, messages: Sequence[str], symbols: Sequence[str], fetched_at: datetime
) -> PrintBatch:
    """Turn a `yf.download` 1-minute frame into a `PrintBatch` (selecting by label only)."""
    failed, rate_limited = parse_failures(messages)
    if frame.empty and (rate_limited or any(c == "rate_limited" for c in failed.values())):
        return PrintBatch({}, fetched_at, SOURCE, dict.fromkeys(symbols, "rate_limited"), True)
    prints: dict[str, Print] = {}
    missing: dict[str, str] = {}
    for symbol in symbols:
        closes = _column(frame, "Close", symbol)
        present = closes.dropna() if closes is not None else pd.Series(dtype=float)
        if present.empty:
            missing[symbol] = failed.get(symbol, failed.get(symbol.upper(), "no_data"))
            continue
        index = pd.DatetimeIndex(present.index)
        stamps = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        at = pd.Timestamp(stamps[-1]).to_pydatetime()
        market = market_for_symbol(symbol)
        session = market.print_session(at)
        opens = _column(frame, "Open", symbol)
        highs, lows = _column(frame, "High", symbol), _column(frame, "Low", symbol)
        regular = [market.print_session(s.to_pydatetime()) == "regular" for s in stamps]
        opening = high = low = None
        if any(regular) and opens is not None and highs is not None and lows is not None:
            rows = present.index[regular]
            opening = _first(opens.loc[rows])
            high, low = _extreme(highs.loc[rows], max), _extreme(lows.loc[rows], min)
        prints[symbol] = Print(
            symbol=symbol,
            price=float(present.iloc[-1]),
            at=at,
            market_session=session,
            source=SOURCE,
            open=opening,
            high=high,
            low=low,
        )
    return PrintBatch(prints, fetched_at, SOURCE, missing, rate_limited and not prints)


def _first(values: pd.Series) -> float | None:
    present = values.dropna()
    return float(present.iloc[0]) if not present.empty else None


def _extreme(values: pd.Series, pick: Callable[[Any], Any]) -> float | None:
    present = values.dropna()
    return float(pick(present)) if not present.empty else None


def frame_rows(frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """A symbol's daily rows from a `yf.download(interval="1d")` frame (by label)."""
    columns: dict[str, pd.Series] = {}
    if not isinstance(frame.columns, pd.MultiIndex):
        return pd.DataFrame(columns=list(BAR_COLUMNS))
    for ours, theirs in [*_FIELDS.items(), ("adj_close", "Adj Close"), ("volume", "Volume")]:
        key = (theirs, symbol.upper())
        if key in frame.columns:
            columns[ours] = frame[key].astype(float)
    if "close" not in columns:
        return pd.DataFrame(columns=list(BAR_COLUMNS))
    rows = pd.DataFrame(columns).reindex(columns=list(BAR_COLUMNS))
    index = pd.DatetimeIndex(rows.index)
    rows.index = pd.DatetimeIndex(
        (index.tz_localize(None) if index.tz is not None else index).normalize(), name="date"
    )
    return rows.dropna(subset=["close"])


class _YahooErrors(logging.Filter):
    """While installed, holds back yfinance's per-symbol error lines ("$AAPL: possibly
    delisted; no price data found") so a failed backfill is one line naming the cause."""

    def __init__(self) -> None:
        super().__init__()
        self.causes: dict[str, int] = {}

    def __enter__(self) -> _YahooErrors:
        logging.getLogger("yfinance").addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("yfinance").removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        message = record.getMessage().strip()
        if message and "Failed download" not in message:
            cause = message.split(": ", 1)[-1] if ": " in message else message
            self.causes[cause] = self.causes.get(cause, 0) + 1
        return False

    def summary(self) -> str:
        """`Yahoo said: possibly delisted; no price data found (31 lines)` or ""."""
        if not self.causes:
            return ""
        cause, count = max(self.causes.items(), key=lambda item: item[1])
        return f"Yahoo said: {cause[:160]} ({count} lines)"
