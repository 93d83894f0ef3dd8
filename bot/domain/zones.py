"""Time zones as traders type them, and the exchange's own clock beside the channel's.

`/timezone KST`, `서울`, `ET`, `뉴욕` and IANA names (`Asia/Seoul`) all resolve to an IANA zone;
`EST`/`EDT` mean New York's clock (never the fixed-offset `EST` zone, which ignores daylight
saving). A near miss gets suggestions.
"""

from __future__ import annotations

import difflib
import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.i18n import Locale, format_weekday

ZONE_ALIASES: dict[str, str] = {
    "KST": "Asia/Seoul",
    "서울": "Asia/Seoul",
    "한국": "Asia/Seoul",
    "SEOUL": "Asia/Seoul",
    "ET": "America/New_York",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "뉴욕": "America/New_York",
    "NEWYORK": "America/New_York",
    "NEW YORK": "America/New_York",
    "JST": "Asia/Tokyo",
    "도쿄": "Asia/Tokyo",
    "CET": "Europe/Amsterdam",
    "CEST": "Europe/Amsterdam",
    "UTC": "UTC",
    "GMT": "UTC",
}
"""What traders type for a zone → the IANA zone it means."""

EXCHANGE_CLOCKS: dict[str, str] = {"America/New_York": "ET", "Asia/Seoul": "KST"}
"""How an exchange's own time is labelled beside the channel's ("23:30 KST · 09:30 ET")."""

_LEGACY = {"EST", "MST", "HST", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "CET", "EET", "MET"}


class ZoneError(ValueError):
    """A zone name that does not resolve; `suggestions` are close IANA names or aliases."""

    def __init__(self, text: str, suggestions: list[str]) -> None:
        self.text = text
        self.suggestions = suggestions
        super().__init__(f"unknown time zone {text!r}")


@functools.cache
def _iana_names() -> dict[str, str]:
    return {name.upper(): name for name in available_timezones() if name not in _LEGACY}


def parse_zone(text: str) -> str:
    """The IANA zone a user means by `text` (`KST` → `Asia/Seoul`), or ZoneError."""
    cleaned = " ".join(text.strip().split())
    upper = cleaned.upper()
    if upper in ZONE_ALIASES:
        return ZONE_ALIASES[upper]
    names = _iana_names()
    found = names.get(upper.replace(" ", "_"))
    if found is not None:
        try:
            ZoneInfo(found)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return found
    pool = [*names.values(), *ZONE_ALIASES]
    close = difflib.get_close_matches(cleaned, pool, n=3, cutoff=0.6)
    if not close:  # `Seoul`, `new_york`: the city part of a zone name
        tail = upper.replace(" ", "_")
        close = [name for key, name in names.items() if key.endswith("/" + tail)][:3]
    raise ZoneError(cleaned, close)


def exchange_clock(moment: datetime, channel_zone: ZoneInfo, exchange_zone: str) -> str:
    """The exchange's own time beside the channel's (`09:30 ET`), or "" when they agree."""
    exchange = ZoneInfo(exchange_zone)
    here, there = moment.astimezone(channel_zone), moment.astimezone(exchange)
    if here.utcoffset() == there.utcoffset() and here.tzname() == there.tzname():
        return ""
    label = EXCHANGE_CLOCKS.get(exchange_zone) or there.tzname() or exchange_zone
    return f"{there:%H:%M} {label}"


def local_clock(moment: datetime, zone: str, locale: Locale, *, day: date | None = None) -> str:
    """A moment on a zone's own clock (`15:30 JST`, `01:30 ET`), led by its weekday when its
    local date is not `day` (`Sun 18:00 ET` before Monday's session)."""
    there = moment.astimezone(ZoneInfo(zone))
    text = f"{there:%H:%M} {EXCHANGE_CLOCKS.get(zone) or there.tzname() or zone}"
    if day is not None and there.date() != day:
        return f"{format_weekday(there.date(), locale)} {text}"
    return text
