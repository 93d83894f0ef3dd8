"""Compatibility re-export: the session calendars are market facts and live in the core,
`bot/domain/calendars.py`; import them from there."""

from bot.domain.calendars import (
    KRX,
    NYSE,
    DateLike,
    calendar_for_symbol,
    session_calendar,
    sessions_between,
)

__all__ = [
    "KRX",
    "NYSE",
    "DateLike",
    "calendar_for_symbol",
    "session_calendar",
    "sessions_between",
]
