"""Turning a user's date into a trading session, with helpful errors."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.markets import market_for_calendar, primary_market

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SessionError(ValueError):
    """A date that is malformed, not a session, or outside the history."""

    def __init__(self, code: str, message: str, text: str, nearest: tuple[date, ...] = ()) -> None:
        self.code = code  # "malformed" | "no_session" | "out_of_range"
        self.text = text
        self.nearest = nearest
        super().__init__(message)


def parse_day(text: str) -> date:
    """A strict ISO date (YYYY-MM-DD)."""
    cleaned = text.strip()
    if not _DATE_RE.match(cleaned):
        raise SessionError("malformed", f"'{text[:40]}' is not a date — use YYYY-MM-DD", text)
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise SessionError(
            "malformed", f"'{cleaned}' is not a valid calendar date — use YYYY-MM-DD", text
        ) from None


def nearest_sessions(day: date, sessions: pd.DatetimeIndex) -> tuple[date, ...]:
    """The sessions just before and just after `day` (one of them at the edges)."""
    stamp = pd.Timestamp(day)
    position = int(sessions.searchsorted(stamp))
    around = []
    if position > 0:
        around.append(sessions[position - 1].date())
    if position < len(sessions):
        candidate = sessions[position].date()
        if candidate != day:
            around.append(candidate)
    return tuple(around)


def resolve_session(
    text: str | date, sessions: pd.DatetimeIndex, calendar_name: str | None = None
) -> pd.Timestamp:
    """The session for a date the user typed (on `calendar_name`, the default market's by
    default); explains weekends, holidays and range."""
    calendar_name = calendar_name or primary_market().calendar
    day = parse_day(text) if isinstance(text, str) else text
    raw = text if isinstance(text, str) else day.isoformat()
    if len(sessions) == 0:
        raise SessionError("out_of_range", "there is no history to look in", raw)
    first, last = sessions[0].date(), sessions[-1].date()
    if day < first or day > last:
        # Compared as dates first: a year such as 9999 or 0001 is beyond what pandas can hold.
        edge = (first,) if day < first else (last,)
        raise SessionError(
            "out_of_range",
            f"{day} is outside the history ({first} … {last}) — nearest session: {edge[0]}",
            raw,
            edge,
        )
    stamp = pd.Timestamp(day)
    if stamp in sessions:
        return stamp
    nearest = nearest_sessions(day, sessions)
    listed = ", ".join(d.isoformat() for d in nearest)
    weekday = day.strftime("%A")
    market = market_for_calendar(calendar_name).label or calendar_name
    calendar = session_calendar(calendar_name)
    if day.weekday() >= 5:
        kind = "a weekend"
    elif calendar.is_session(stamp):
        kind = "a session missing from the data"
    else:
        kind = f"a {market} holiday"
    raise SessionError(
        "no_session",
        f"{day} ({weekday}) has no {market} session — it is {kind}; nearest sessions: {listed}",
        raw,
        nearest,
    )
