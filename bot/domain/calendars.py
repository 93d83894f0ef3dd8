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

# A calendar defaults to ~20 years back; the shipped history starts earlier (^VIX 1990, the
# DAX 1987, USD/JPY 1996, the CME e-minis 2000). A fixed start keeps every file inside its
# calendar whatever today's date.
_STARTS = {
    NYSE: pd.Timestamp("1990-01-01"),
    "XETR": pd.Timestamp("1987-12-01"),
    "24/5": pd.Timestamp("1996-10-01"),
    "CMES": pd.Timestamp("2000-09-01"),
    "XAMS": pd.Timestamp("2000-01-03"),
    "XTKS": pd.Timestamp("2000-01-04"),
}

DateLike = str | date | datetime | pd.Timestamp


def _start_for(name: str) -> pd.Timestamp | None:
    """The earliest start used when building `name` (None: the library default)."""
    if name in _STARTS:
        return _STARTS[name]
    if name == KRX:
        bound = XKRXExchangeCalendar.bound_min()  # the earliest start XKRX allows
        return pd.Timestamp(bound) if bound is not None else None
    return None


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
