"""Exchange session calendars (NYSE, KRX, ...): market facts of the core, built once per process.

Which market (and so which calendar) a symbol trades on is configuration: `bot/domain/markets.py`.

Building an `exchange_calendars` calendar takes 0.1-1 s, so every calendar is
constructed on first use and cached for the life of the process.
"""

from __future__ import annotations

import functools
import warnings
from datetime import date, datetime

import exchange_calendars as xcals
import pandas as pd
from exchange_calendars.exchange_calendar_xkrx import XKRXExchangeCalendar

NYSE = "XNYS"
KRX = "XKRX"

# XNYS defaults to ~20 years back; the shipped history (^VIX, ^SOX) starts in 1990/1994.
_NYSE_START = pd.Timestamp("1990-01-01")

DateLike = str | date | datetime | pd.Timestamp


def _start_for(name: str) -> pd.Timestamp | None:
    """The earliest start used when building `name`: 1990 (the shipped futures start in
    2000, the indices in the 1990s), or the earliest the calendar allows when that is later."""
    if name == NYSE:
        return _NYSE_START
    if name == KRX:
        bound = XKRXExchangeCalendar.bound_min()  # the earliest start XKRX allows
        return pd.Timestamp(bound) if bound is not None else None
    bound = _bound_min(name)
    return max(_NYSE_START, bound) if bound is not None else _NYSE_START


def _bound_min(name: str) -> pd.Timestamp | None:
    """The earliest start calendar `name` accepts (None: no bound)."""
    factory = xcals.calendar_utils._default_calendar_factories.get(name)
    bound = factory.bound_min() if factory is not None else None
    return pd.Timestamp(bound) if bound is not None else None


class _CorrectedXKRX(XKRXExchangeCalendar):
    """XKRX with the closures exchange_calendars 4.13 does not know yet."""

    # 2026-06-03: the 9th nationwide local elections, a public holiday on which KRX was
    # closed (the shipped SK hynix and Samsung records have no row for it).
    MISSING_HOLIDAYS = (pd.Timestamp("2026-06-03"),)

    @property
    def adhoc_holidays(self) -> list[pd.Timestamp]:
        return [*super().adhoc_holidays, *self.MISSING_HOLIDAYS]


@functools.cache
def session_calendar(name: str) -> xcals.ExchangeCalendar:
    """The calendar called `name` ("XNYS", "XKRX", ...), built once and cached."""
    start = _start_for(name)
    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips a pandas 3 deprecation while building; not ours to fix.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        if name == KRX:
            return _CorrectedXKRX(start=start)
        if start is None:
            return xcals.get_calendar(name)
        return xcals.get_calendar(name, start=start)


def sessions_between(name: str, start: DateLike, end: DateLike) -> pd.DatetimeIndex:
    """Sessions of calendar `name` from `start` to `end` inclusive, as tz-naive midnights.

    The range is clipped to the calendar's bounds; an empty index is returned when
    nothing of it falls inside them.
    """
    cal = session_calendar(name)
    lo = max(_naive_day(start), cal.first_session)
    hi = min(_naive_day(end), cal.last_session)
    if lo > hi:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    sessions = cal.sessions_in_range(lo, hi)
    naive = sessions.tz_localize(None) if sessions.tz is not None else sessions
    return pd.DatetimeIndex(naive.to_numpy(dtype="datetime64[ns]"), name="date")  # freq None


def _naive_day(value: DateLike) -> pd.Timestamp:
    """`value` as a tz-naive midnight timestamp."""
    ts = pd.Timestamp(value)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()
