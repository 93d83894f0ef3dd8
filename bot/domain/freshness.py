"""How old a figure is: its session's close, and how many of its market's sessions have closed
since ("as of Fri 21 Aug 2026 16:00 ET — 73 NYSE sessions ago")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.i18n import Locale, format_date, t
from bot.domain.markets import calendar_for_symbol, market_for_calendar
from bot.domain.zones import EXCHANGE_CLOCKS


@dataclass(frozen=True)
class Freshness:
    """A figure's session, when that session closed, and the sessions closed since."""

    session: date
    calendar: str
    closed_at: datetime | None
    sessions_since: int

    @property
    def stale(self) -> bool:
        """Older than its market's last closed session."""
        return self.sessions_since > 0

    def as_of(self, locale: Locale) -> str:
        """`Fri 21 Aug 2026 16:00 ET`, in the exchange's own clock."""
        day = format_date(self.session, locale)
        if self.closed_at is None:
            return day
        zone = market_for_calendar(self.calendar).zone
        local = self.closed_at.astimezone(ZoneInfo(zone))
        return f"{day} {local:%H:%M} {EXCHANGE_CLOCKS.get(zone, local.tzname() or '')}".strip()

    def describe(self, locale: Locale) -> str:
        """The as-of line, with how old it is when it is not the latest closed session."""
        if not self.stale:
            return t("freshness.as_of", locale, when=self.as_of(locale))
        return t(
            "freshness.stale",
            locale,
            when=self.as_of(locale),
            count=self.sessions_since,
            market=market_for_calendar(self.calendar).label or self.calendar,
        )


def freshness(session: date | pd.Timestamp, symbol: str, now: datetime) -> Freshness:
    """How old the figure of `session` for `symbol` is at `now` (sessions of its own market)."""
    day = pd.Timestamp(session).date()
    name = calendar_for_symbol(symbol)
    calendar = session_calendar(name)
    stamp = pd.Timestamp(day)
    closed_at = None
    if calendar.first_session <= stamp <= calendar.last_session and calendar.is_session(stamp):
        closed_at = calendar.session_close(stamp).to_pydatetime().astimezone(UTC)
    moment = pd.Timestamp(now.astimezone(UTC))
    start = pd.Timestamp(day) + pd.Timedelta(days=1)
    end = min(pd.Timestamp(moment.date()), calendar.last_session)
    count = 0
    if start <= end:
        later = calendar.sessions_in_range(max(start, calendar.first_session), end)
        count = int(sum(1 for s in later if calendar.session_close(s) <= moment))
    return Freshness(day, name, closed_at, count)
