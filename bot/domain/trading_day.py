"""The trading day round the clock: every market's real prints, in time order, from the
previous New York close to the digest after DATE's close.

A session date names the trading day that ends with that date's close on the default
market. Every configured market's session of that date plays inside it (an Asian session
dated Monday trades on Sunday evening New York time; the CME's Monday session reopens on
Sunday at 18:00 New York): a daily bar's open at its exchange's open, its close at its close
(the one calendar API), and intraday bars at each bar's end. A market with no session that
date is named as closed. Each symbol's last close before the day is its starting print.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.intraday import IntradayBook
from bot.domain.market import MarketData
from bot.domain.markets import Market, MarketBook
from bot.domain.symbols import UnknownSymbolError

TapeStage = Literal["previous_close", "open", "close", "bar"]


@dataclass(frozen=True)
class TapePrint:
    """One real print of the day: when, what, on which market, and from which bar."""

    at: datetime
    symbol: str
    price: float
    market: str
    stage: TapeStage
    session: pd.Timestamp
    source: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    basis_close: float | None = None
    """Intraday bars: the previous regular close on the bars' own price basis."""


@dataclass(frozen=True)
class MarketDay:
    """A configured market on the day: its session's open and close, or closed."""

    market: Market
    opens: datetime | None = None
    closes: datetime | None = None

    @property
    def closed(self) -> bool:
        """True when the market has no session that date."""
        return self.opens is None


@dataclass(frozen=True)
class TradingDay:
    """The day's prints in time order, the markets' sessions and the stand-ins used."""

    session: pd.Timestamp
    start: datetime
    """The previous close of the default market."""
    end: datetime
    """The digest after the session's close."""
    opens: datetime
    """The default market's open (what a lead is measured to)."""
    prints: tuple[TapePrint, ...]
    markets: tuple[MarketDay, ...]
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    """Index symbol → the ETF standing in for it outside the session (it ships bars today)."""
    warnings: tuple[str, ...] = ()
    _by_symbol: dict[str, list[TapePrint]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for item in self.prints:
            self._by_symbol.setdefault(item.symbol, []).append(item)

    @property
    def symbols(self) -> list[str]:
        """Every symbol with a print on the tape."""
        return list(self._by_symbol)

    def latest(self, symbol: str, now: datetime) -> TapePrint | None:
        """The symbol's last print at or before `now`."""
        prints = self._by_symbol.get(symbol, [])
        position = bisect.bisect_right([item.at for item in prints], now)
        return prints[position - 1] if position else None

    def moments(self) -> list[datetime]:
        """Every distinct print time inside the day, in order."""
        return sorted({item.at for item in self.prints if self.start < item.at <= self.end})

    def market_of(self, name: str) -> MarketDay | None:
        """The day of the market called `name`."""
        return next((day for day in self.markets if day.market.name == name), None)


def digest_after(close: datetime, clock: str, zone: str) -> datetime:
    """The first `clock` ("06:30") in `zone` after `close` (UTC)."""
    hour, minute = (int(part) for part in clock.split(":"))
    local = close.astimezone(ZoneInfo(zone))
    slot = datetime.combine(local.date(), time(hour, minute), tzinfo=ZoneInfo(zone))
    if slot <= local:
        slot = datetime.combine(
            local.date() + timedelta(days=1), time(hour, minute), tzinfo=ZoneInfo(zone)
        )
    return slot.astimezone(close.tzinfo)


def build_trading_day(
    market: MarketData,
    intraday: IntradayBook,
    book: MarketBook,
    session: pd.Timestamp,
    end: datetime,
    *,
    stand_ins: Mapping[str, Sequence[str]] | None = None,
    symbols: Iterable[str] | None = None,
) -> TradingDay:
    """The trading day that ends with `session`'s close on the default market, up to `end`.

    `stand_ins`: index symbol → the ETFs that may stand in for it outside the session; the
    first with intraday bars on the day is used. `symbols` limits the tape (default: every
    symbol with a history file or intraday bars)."""
    primary = book.default
    start = primary.close_of(primary.previous_session(session))
    days = tuple(_market_day(item, session) for item in book)
    by_name = {day.market.name: day for day in days}
    every = [*market.symbols_with_data, *intraday.bars]
    wanted = list(dict.fromkeys(symbols if symbols is not None else every))
    prints: list[TapePrint] = []
    for symbol in wanted:
        home = book.for_symbol(symbol)
        prints += _daily_prints(market, symbol, home, by_name[home.name], session, start, end)
        prints += _bar_prints(market, intraday, symbol, home, start, end)
    prints.sort(key=lambda item: (item.at, item.symbol))
    chosen: dict[str, str] = {}
    with_bars = {item.symbol for item in prints if item.stage == "bar" and item.at > start}
    for index, candidates in (stand_ins or {}).items():
        found = next((etf for etf in candidates if etf in with_bars), None)
        if found is not None:
            chosen[_index_symbol(market, index)] = found
    return TradingDay(
        session,
        start,
        end,
        primary.open_of(session),
        tuple(prints),
        days,
        chosen,
        intraday.warnings,
    )


def _index_symbol(market: MarketData, name: str) -> str:
    """An alias's Yahoo symbol ("SOX" → "^SOX"); an unknown name is taken as a symbol."""
    try:
        return market.symbols.resolve(name).symbol
    except UnknownSymbolError:
        return name


def _market_day(market: Market, session: pd.Timestamp) -> MarketDay:
    if not market.is_session(session):
        return MarketDay(market)
    return MarketDay(market, market.open_of(session), market.close_of(session))


def _daily_prints(
    market: MarketData,
    symbol: str,
    home: Market,
    day: MarketDay,
    session: pd.Timestamp,
    start: datetime,
    end: datetime,
) -> list[TapePrint]:
    """The symbol's last close before the day, then its session's open and close."""
    table = market.table(symbol)
    if table is None:
        return []
    frame = table.frame
    closes = frame["close"].dropna()
    source = market.source
    found: list[TapePrint] = []
    earlier = closes.index[closes.index < session]
    if len(earlier):
        last = pd.Timestamp(earlier[-1])
        found.append(
            TapePrint(
                home.close_of(last), symbol, float(closes.loc[last]), home.name,
                "previous_close", last, source,
            )
        )  # fmt: skip
    if day.closed or session not in frame.index:
        return found
    row = frame.loc[session]
    opening = _number(row["open"])
    assert day.opens is not None and day.closes is not None
    if opening is not None and start < day.opens <= end:
        found.append(
            TapePrint(day.opens, symbol, opening, home.name, "open", session, source, opening)
        )
    closing = _number(row["close"])
    if closing is not None and start < day.closes <= end:
        found.append(
            TapePrint(
                day.closes, symbol, closing, home.name, "close", session, source,
                opening, _number(row["high"]), _number(row["low"]),
            )
        )  # fmt: skip
    return found


def _bar_prints(
    market: MarketData,
    intraday: IntradayBook,
    symbol: str,
    home: Market,
    start: datetime,
    end: datetime,
) -> list[TapePrint]:
    """The symbol's intraday bars ending inside the day, each its close at its end."""
    table = market.table(symbol)

    def history_close(name: str, day: pd.Timestamp) -> float | None:
        if table is None or day not in table.frame.index:
            return None
        return _number(table.frame.at[day, "close"])

    source = f"intraday bars ({intraday.sources.get(symbol, symbol)})"
    found: list[TapePrint] = []
    for bar in intraday.between(symbol, start, end):
        own = home.session_of(bar.end) or home.reference_session(bar.end)
        previous = home.previous_session(own)
        basis = intraday.basis_close(symbol, previous, history_close)
        found.append(
            TapePrint(bar.end, symbol, bar.close, home.name, "bar", own, source, basis_close=basis)
        )
    return found


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)
