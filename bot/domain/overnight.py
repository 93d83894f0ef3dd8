"""Markets round the clock: what the overseas markets did before New York's open, and what
New York did in the session an overseas session led into.

An overseas market's session that opened after New York's previous close and before its
open is read at its close when it closed before New York opened (Tokyo: 15:30 JST = 01:30
ET), else at its own open (Amsterdam 09:00 CET = 03:00 ET; the CME futures Sunday 18:00 ET):
only prints New York could have seen. A market with no such session was closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.market import MarketData
from bot.domain.markets import Market, MarketBook
from bot.domain.price_metrics import Unavailable
from bot.domain.snapshot import Quote, Resolved
from bot.domain.symbols import Instrument, UnknownSymbolError

Stage = Literal["open", "close", "closed"]


@dataclass(frozen=True)
class OverseasMoves:
    """One market before New York's open: its print (open or close) and the watched moves."""

    market: Market
    stage: Stage
    at: datetime | None
    """The UTC moment of the print read (None when the market was closed)."""
    session: pd.Timestamp | None
    moves: tuple[Resolved, ...] = ()
    next_open: datetime | None = None
    """When closed: the market's next open after New York's."""


@dataclass(frozen=True)
class NewYorkAfter:
    """The default market's session an overseas session led into, and its benchmarks."""

    session: pd.Timestamp
    moves: tuple[Resolved, ...]


def watched(data: MarketData, market: Market) -> list[Instrument]:
    """The market's `watch` list as instruments that have history (unknown names skipped)."""
    found = []
    for name in market.watch:
        try:
            instrument = data.symbols.resolve(name)
        except UnknownSymbolError:
            continue
        if data.has(instrument.symbol) or (instrument.proxy and data.has(instrument.proxy)):
            found.append(instrument)
    return found


def before_new_york_open(
    data: MarketData, book: MarketBook, session: pd.Timestamp
) -> list[OverseasMoves]:
    """Every other watched market on the night before the default market's `session` opens,
    the earliest print first, closed markets last."""
    home = book.default
    ny_open = home.open_of(session)
    previous_close = home.close_of(home.previous_session(session))
    found = []
    for market in book:
        instruments = watched(data, market) if market is not home else []
        if not instruments:
            continue
        own = market.session_of(ny_open - timedelta(minutes=1))
        opens = market.open_of(own) if own is not None else None
        if own is None or opens is None or not previous_close < opens < ny_open:
            found.append(OverseasMoves(market, "closed", None, None, (), market.next_open(ny_open)))
            continue
        closes = market.close_of(own)
        stage: Stage = "close" if closes <= ny_open else "open"
        at = closes if stage == "close" else opens
        moves = tuple(_move(data, instrument, at, own) for instrument in instruments)
        found.append(OverseasMoves(market, stage, at, own, moves))
    return sorted(found, key=lambda item: (item.at is None, item.at or ny_open))


def new_york_after(
    data: MarketData, book: MarketBook, market: Market, session: pd.Timestamp
) -> NewYorkAfter | None:
    """The default market's first session to close after `market`'s `session` closed (Tokyo's
    Monday leads into New York's Monday), with its benchmarks' moves; None for the default
    market itself or past the calendar."""
    home = book.default
    if market is home:
        return None
    closes = session_calendar(home.calendar).schedule["close"]
    position = int(closes.searchsorted(pd.Timestamp(market.close_of(session)), side="right"))
    if position >= len(closes):
        return None
    following = pd.Timestamp(closes.index[position])
    snapshot = data.snapshot(following, "close")
    moves = []
    for name in home.benchmarks:
        try:
            moves.append(snapshot.read(data.symbols.resolve(name), "pct"))
        except UnknownSymbolError:
            continue
    return NewYorkAfter(following, tuple(moves))


def _move(
    data: MarketData, instrument: Instrument, at: datetime, session: pd.Timestamp
) -> Resolved:
    """The instrument's move at its market's print `at` (the gap at an open)."""
    quote = data.quote_at(instrument.symbol, at, session)
    value = quote.metric("pct") if isinstance(quote, Quote) else quote
    if not isinstance(value, (float, Unavailable)):
        value = Unavailable("no_data", f"no move for {instrument.label}")
    return Resolved(instrument, "pct", value, instrument.symbol)
