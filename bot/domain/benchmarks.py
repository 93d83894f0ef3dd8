"""What a subject is compared with: its market's benchmarks, read on the same session or,
for a New York benchmark of an overseas subject, over the US sessions since its previous
close (what Seoul and Tokyo react to)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.market import MarketData
from bot.domain.markets import market_for_calendar, primary_market
from bot.domain.symbols import Instrument


def subject_calendar(market: MarketData, subject: Instrument) -> str:
    """The exchange calendar of the series that serves the subject."""
    for symbol in (subject.symbol, subject.proxy):
        table = market.table(symbol) if symbol else None
        if table is not None:
            return table.calendar
    return primary_market().calendar


def primary_sessions_between(calendar: str, session: pd.Timestamp) -> pd.DatetimeIndex:
    """The default market's sessions (NYSE's as shipped) that closed after `calendar`'s
    previous close and by its close on `session`: what that session reacts to."""
    primary = primary_market().calendar
    if calendar == primary:
        return pd.DatetimeIndex([session])
    starts, ends = market_for_calendar(calendar).close_bounds(pd.DatetimeIndex([session]))
    schedule = session_calendar(primary).schedule
    mask = (schedule["close"].to_numpy() > starts[0]) & (schedule["close"].to_numpy() <= ends[0])
    return pd.DatetimeIndex(schedule.index[mask])  # sessions are tz-naive dates


def window_moves(
    market: MarketData, instrument: Instrument, calendar: str, sessions: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """An instrument's compounded move (percent) over the default market's sessions behind
    each session of `calendar`, and whether a proxy served any of them. For the default
    market's own sessions: the day's move."""
    primary = primary_market().calendar
    if calendar == primary:
        column = market.column(instrument, "pct", sessions)
        return column.values, column.via_proxy
    starts, ends = market_for_calendar(calendar).close_bounds(sessions)
    schedule = session_calendar(primary).schedule
    inside = (schedule["close"] > starts.min()) & (schedule["close"] <= ends.max())
    us_index = pd.DatetimeIndex(schedule.index[inside])
    close_times = schedule["close"][inside].to_numpy()
    column = market.column(instrument, "pct", us_index)
    missing = np.isnan(column.values)
    logs = np.where(missing, 0.0, np.log1p(np.nan_to_num(column.values) / 100.0))
    total = np.concatenate(([0.0], np.cumsum(logs)))
    gaps = np.concatenate(([0], np.cumsum(missing)))
    proxied = np.concatenate(([0], np.cumsum(column.via_proxy)))
    first = np.searchsorted(close_times, starts, side="right")
    last = np.searchsorted(close_times, ends, side="right")
    valid = (last > first) & (gaps[last] - gaps[first] == 0)
    values = np.where(valid, np.expm1(total[last] - total[first]) * 100.0, np.nan)
    return values, (proxied[last] - proxied[first]) > 0


def benchmarks_of(market: MarketData, calendar: str) -> list[Instrument]:
    """What a subject on `calendar` is compared with: its market's benchmarks."""
    names = market_for_calendar(calendar).benchmarks or primary_market().benchmarks
    return [market.symbols.resolve(name) for name in names]


def windowed(market: MarketData, calendar: str, instrument: Instrument) -> bool:
    """True when a subject on `calendar` sees `instrument` through the default market's
    sessions since its previous close (a New York benchmark of an overseas subject)."""
    primary = primary_market().calendar
    return calendar != primary and subject_calendar(market, instrument) == primary
