"""Korean and English: the message catalog and locale-aware number, price and date formatting.

The catalog lives in ``messages.toml`` beside this module: one table per key with a ``ko`` and an
``en`` string, placeholders in ``str.format`` style (``{symbol}``). Add a key by adding a table.

Conventions, one per locale and used everywhere:

* Signs use the true minus sign U+2212 (``−``) and ``+``; zero after rounding carries no sign.
* Percent: ``−16.97 %`` in both languages (one spacing convention everywhere).
* Thousands are grouped with ``,`` in both locales.
* Prices: ``$118.42`` / ``118.42달러``; won: ``₩182,000`` / ``182,000원``.
* Dates: ``2025년 1월 27일 (월)`` / ``Mon 27 Jan 2025``; times are 24-hour ``HH:MM``.
"""

from __future__ import annotations

import math
import string
import tomllib
from datetime import date, datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Locale = Literal["ko", "en"]
LOCALES: tuple[Locale, ...] = get_args(Locale)

MINUS = "\u2212"
_CATALOG_FILE = "messages.toml"

_LOCALE_ALIASES: dict[str, Locale] = {
    "ko": "ko",
    "kr": "ko",
    "ko-kr": "ko",
    "ko_kr": "ko",
    "korean": "ko",
    "한국어": "ko",
    "한글": "ko",
    "en": "en",
    "en-us": "en",
    "en_us": "en",
    "english": "en",
    "영어": "en",
}

_WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class LocaleError(ValueError):
    """The text does not name a supported language."""


class CatalogError(KeyError):
    """A message key is missing, or a message was formatted without one of its parameters."""


def parse_locale(text: str) -> Locale:
    """Read a user's language choice: ko/kr/korean/한국어 → "ko", en/english → "en"."""
    key = text.strip().lower()
    if key in _LOCALE_ALIASES:
        return _LOCALE_ALIASES[key]
    raise LocaleError(f"unknown language {text!r}: use ko (한국어) or en (English)")


@cache
def catalog() -> dict[str, dict[Locale, str]]:
    """The message catalog, read once from the package: ``{key: {"ko": ..., "en": ...}}``."""
    raw = tomllib.loads(resources.files(__package__).joinpath(_CATALOG_FILE).read_text("utf-8"))
    messages: dict[str, dict[Locale, str]] = {}
    _flatten(raw, "", messages)
    return messages


def _flatten(table: dict[str, object], prefix: str, out: dict[str, dict[Locale, str]]) -> None:
    """Turn nested TOML tables into dotted keys; a table holding ko/en strings is a message."""
    if any(locale in table for locale in LOCALES):
        missing = [loc for loc in LOCALES if not isinstance(table.get(loc), str)]
        if missing:
            raise CatalogError(f"message {prefix!r} lacks {', '.join(missing)}")
        out[prefix] = {loc: str(table[loc]) for loc in LOCALES}
        return
    for name, value in table.items():
        if not isinstance(value, dict):
            raise CatalogError(f"catalog entry {prefix + name!r} is not a table")
        _flatten(value, f"{prefix}.{name}" if prefix else name, out)


def has_message(key: str) -> bool:
    """Whether the catalog holds ``key``."""
    return key in catalog()


def placeholders(text: str) -> frozenset[str]:
    """The ``{name}`` parameters a message expects."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def t(key: str, locale: Locale, **params: object) -> str:
    """The message ``key`` in ``locale`` with ``params`` filled in; missing key/param raises."""
    try:
        template = catalog()[key][locale]
    except KeyError:
        raise CatalogError(f"no message {key!r} for locale {locale!r}") from None
    try:
        return template.format_map(params)
    except KeyError as exc:
        raise CatalogError(f"message {key!r} needs parameter {exc.args[0]!r}") from None


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _signed(text: str, value: float, signed: bool) -> str:
    """Put U+2212 or + in front of an unsigned rendering of ``value`` (none when it shows as
    zero: never ``−0.00``)."""
    if all(ch in "0.," for ch in text):
        return text
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed else text


def format_number(
    value: float | None, locale: Locale, *, decimals: int = 0, signed: bool = False
) -> str:
    """A number grouped by thousands: ``1,234.5``; None or NaN → "n/a" / "없음"."""
    if _is_missing(value):
        return t("common.na", locale)
    assert value is not None
    return _signed(f"{abs(value):,.{decimals}f}", value, signed)


def format_compact(value: float | None, locale: Locale) -> str:
    """A large count in the reader's units: ``818.8M`` / ``8.19억``, e.g. share volume."""
    if _is_missing(value):
        return t("common.na", locale)
    assert value is not None
    units = (
        ((1e12, "조"), (1e8, "억"), (1e4, "만"))
        if locale == "ko"
        else ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
    )
    decimals = 2 if locale == "ko" else 1
    for size, suffix in units:
        if abs(value) >= size:
            return _signed(f"{abs(value) / size:,.{decimals}f}", value, False) + suffix
    return format_number(value, locale)


def format_pct(
    value: float | None, locale: Locale, signed: bool = True, *, decimals: int = 2
) -> str:
    """A percentage (``value`` is in percent, −16.97 → ``−16.97 %``, in either language)."""
    if _is_missing(value):
        return t("common.na", locale)
    assert value is not None
    # A move that rounds to zero shows no sign: never "−0.00 %". Where its side of a
    # threshold matters ("Dow up"), `formatting.format_move` gives it the digits to show it.
    body = _signed(f"{abs(value):,.{decimals}f}", value, signed)
    return f"{body} %"


def format_points(value: float | None, locale: Locale, *, decimals: int = 2) -> str:
    """A difference of two percentages: ``−7.82 %p`` in Korean, ``−7.82 pp`` in English."""
    if _is_missing(value):
        return t("common.na", locale)
    assert value is not None
    body = _signed(f"{abs(value):,.{decimals}f}", value, True)
    return f"{body} {'%p' if locale == 'ko' else 'pp'}"


def format_price(
    value: float | None, locale: Locale, *, currency: str | None = "USD", decimals: int = 2
) -> str:
    """``$118.42`` / ``118.42달러``; ``₩182,000`` / ``182,000원``; ``currency=None``: a level."""
    if _is_missing(value):
        return t("common.na", locale)
    assert value is not None
    if currency == "KRW":
        body = format_number(value, locale, decimals=0)
        return f"{body}원" if locale == "ko" else f"₩{body}"
    body = format_number(value, locale, decimals=decimals)
    if currency is None:
        return body
    if currency == "USD":
        return f"{body}달러" if locale == "ko" else _prefix_after_sign("$", body)
    return f"{body} {currency}"


def _prefix_after_sign(prefix: str, body: str) -> str:
    """``−$1.50`` rather than ``$−1.50``."""
    if body.startswith((MINUS, "+")):
        return body[0] + prefix + body[1:]
    return prefix + body


def format_date(d: date, locale: Locale) -> str:
    """``2025년 1월 27일 (월)`` / ``Mon 27 Jan 2025``."""
    if locale == "ko":
        return f"{d.year}년 {d.month}월 {d.day}일 ({_WEEKDAYS_KO[d.weekday()]})"
    return f"{_WEEKDAYS_EN[d.weekday()]} {d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def format_weekday(d: date, locale: Locale) -> str:
    """The day of the week alone: ``(일)`` / ``Sun``."""
    return f"({_WEEKDAYS_KO[d.weekday()]})" if locale == "ko" else _WEEKDAYS_EN[d.weekday()]


def format_short_date(d: date, locale: Locale) -> str:
    """Day and month only, for axis ticks: ``1월 27일`` / ``27 Jan``."""
    if locale == "ko":
        return f"{d.month}월 {d.day}일"
    return f"{d.day} {_MONTHS_EN[d.month - 1]}"


def format_datetime(dt: datetime, locale: Locale, *, tz: tzinfo | None = None) -> str:
    """Date and 24-hour time, with the zone's abbreviation when known: ``… 16:00 EST``.

    ``tz`` converts an aware ``dt`` first (e.g. to Asia/Seoul for a Korean channel).
    """
    if tz is not None and dt.tzinfo is not None:
        dt = dt.astimezone(tz)
    text = f"{format_date(dt.date(), locale)} {dt:%H:%M}"
    zone = dt.tzname()
    return f"{text} {zone}" if zone else text


def channel_zone(zone: str | None) -> ZoneInfo:
    """A channel's time zone; UTC only when it is unknown (none stored, or not a zone)."""
    try:
        return ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
