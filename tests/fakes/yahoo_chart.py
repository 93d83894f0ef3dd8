"""Yahoo's v8 chart answers as the fake builds them: exchanges, sessions, DST, ranges.

Each exchange's sessions are in its local time, so the offsets follow daylight saving
(New York EST/EDT, Amsterdam CET/CEST) and non-US exchanges say who they are (Seoul and
Tokyo at +09:00): `gmtoffset`, `timezone`, `exchangeTimezoneName`, `currentTradingPeriod`
and, intraday, one `tradingPeriods` entry per day. A request's `period1`/`period2` or
`range` selects the bars, as Yahoo does.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = "America/New_York"
SEOUL = "Asia/Seoul"
TOKYO = "Asia/Tokyo"
AMSTERDAM = "Europe/Amsterdam"


@dataclass(frozen=True)
class Exchange:
    """What Yahoo's chart meta says about an exchange, and its sessions in local time."""

    name: str
    full_name: str
    timezone: str
    currency: str
    opens: dt.time
    closes: dt.time
    pre: dt.time | None = None
    post: dt.time | None = None


EXCHANGES = {
    NEW_YORK: Exchange(
        "NMS", "NasdaqGS", NEW_YORK, "USD", dt.time(9, 30), dt.time(16), dt.time(4), dt.time(20)
    ),
    SEOUL: Exchange("KSC", "KSE", SEOUL, "KRW", dt.time(9), dt.time(15, 30)),
    TOKYO: Exchange("JPX", "Tokyo", TOKYO, "JPY", dt.time(9), dt.time(15, 30)),
    AMSTERDAM: Exchange("AMS", "Amsterdam", AMSTERDAM, "EUR", dt.time(9), dt.time(17, 30)),
}
SUFFIXES = {".KS": SEOUL, ".KQ": SEOUL, ".T": TOKYO, ".AS": AMSTERDAM}


def exchange_timezone(symbol: str) -> str:
    """The exchange time zone Yahoo reports for a symbol (by its suffix; New York otherwise)."""
    for suffix, zone in SUFFIXES.items():
        if symbol.upper().endswith(suffix):
            return zone
    return NEW_YORK


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar at `epoch` seconds (the bar's start)."""

    epoch: int
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None = 1000.0


@dataclass
class SymbolData:
    """What the fake serves for one symbol, per interval ("1m", "1d").

    `timezone` and `currency` default to the symbol's exchange (`exchange_timezone`) when
    left empty: 005930.KS trades in Seoul in KRW, ASML.AS in Amsterdam in EUR.
    """

    bars: dict[str, list[Bar]] = field(default_factory=dict)
    timezone: str = ""
    instrument_type: str = "EQUITY"
    currency: str = ""


def _period(day: dt.date, start: dt.time, end: dt.time, zone: ZoneInfo) -> dict[str, Any]:
    """A trading period of one local day, with that day's offset (DST included)."""
    opens = dt.datetime.combine(day, start, zone)
    offset = opens.utcoffset() or dt.timedelta()
    return {
        "timezone": opens.tzname(),
        "start": int(opens.timestamp()),
        "end": int(dt.datetime.combine(day, end, zone).timestamp()),
        "gmtoffset": int(offset.total_seconds()),
    }


def _sessions(day: dt.date, exchange: Exchange) -> dict[str, dict[str, Any]]:
    zone = ZoneInfo(exchange.timezone)
    regular = _period(day, exchange.opens, exchange.closes, zone)
    pre = _period(day, exchange.pre or exchange.opens, exchange.opens, zone)
    post = _period(day, exchange.closes, exchange.post or exchange.closes, zone)
    return {"pre": pre, "regular": regular, "post": post}


def select_bars(bars: list[Bar], query: dict[str, list[str]], timezone: str) -> list[Bar]:
    """The bars a chart request asks for: `period1` ≤ t < `period2`, or the last `range`."""
    if "period1" in query or "period2" in query:
        first = int(query.get("period1", ["0"])[0])
        last = int(query.get("period2", [str(2**40)])[0])
        return [b for b in bars if first <= b.epoch < last]
    wanted = query.get("range", ["1mo"])[0]
    if not bars or wanted == "max":
        return list(bars)
    zone = ZoneInfo(timezone)
    days = sorted({dt.datetime.fromtimestamp(b.epoch, zone).date() for b in bars})
    if wanted.endswith("d") and wanted[:-1].isdigit():
        keep = set(days[-int(wanted[:-1]) :])
    else:
        months = {"mo": 1, "y": 12}
        unit = "mo" if wanted.endswith("mo") else "y"
        count = int(wanted.removesuffix(unit) or 1) * months[unit] if wanted != "ytd" else 0
        newest = days[-1]
        if wanted == "ytd":
            since = newest.replace(month=1, day=1)
        else:
            month = newest.year * 12 + newest.month - 1 - count
            since = dt.date(month // 12, month % 12 + 1, min(newest.day, 28))
        keep = {d for d in days if d > since}
    return [b for b in bars if dt.datetime.fromtimestamp(b.epoch, zone).date() in keep]


def chart_json(
    symbol: str, data: SymbolData, interval: str, query: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """A Yahoo v8 chart answer for `symbol` at `interval` (the bars `query` selects)."""
    timezone = data.timezone or exchange_timezone(symbol)
    exchange = EXCHANGES.get(timezone, EXCHANGES[NEW_YORK])
    bars = select_bars(data.bars.get(interval, []), query or {}, timezone)
    zone = ZoneInfo(timezone)
    first = bars[0].epoch if bars else int(time.time())
    last = bars[-1].epoch if bars else first
    last_day = dt.datetime.fromtimestamp(last, zone).date()
    current = _sessions(last_day, exchange)
    days = sorted({dt.datetime.fromtimestamp(b.epoch, zone).date() for b in bars}) or [last_day]
    meta: dict[str, Any] = {
        "currency": data.currency or exchange.currency,
        "symbol": symbol,
        "exchangeName": exchange.name,
        "fullExchangeName": exchange.full_name,
        "instrumentType": data.instrument_type,
        "firstTradeDate": 34612200,
        "regularMarketTime": last,
        "hasPrePostMarketData": exchange.pre is not None,
        "gmtoffset": current["regular"]["gmtoffset"],
        "timezone": current["regular"]["timezone"],
        "exchangeTimezoneName": timezone,
        "regularMarketPrice": bars[-1].close if bars else None,
        "chartPreviousClose": bars[0].open if bars else None,
        "priceHint": 2,
        "currentTradingPeriod": current,
        "dataGranularity": interval,
        "range": (query or {}).get("range", [""])[0],
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    if interval != "1d":
        periods = [_sessions(day, exchange) for day in days]
        meta["tradingPeriods"] = {
            name: [[p[name]] for p in periods] for name in ("pre", "regular", "post")
        }
    quote = {
        "open": [b.open for b in bars],
        "high": [b.high for b in bars],
        "low": [b.low for b in bars],
        "close": [b.close for b in bars],
        "volume": [b.volume for b in bars],
    }
    result: dict[str, Any] = {
        "meta": meta,
        "timestamp": [b.epoch for b in bars],
        "indicators": {"quote": [quote]},
    }
    if interval == "1d":
        result["indicators"]["adjclose"] = [{"adjclose": [b.close for b in bars]}]
    return {"chart": {"result": [result], "error": None}}


NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
