"""`/snooze` in words traders type, and the one message that sums up a snooze when it ends.

`2h`, `30m`, `1h30m`, `2시간`, `until 09:30`, `09:30`, `09:30까지`, `tomorrow` / `내일` (08:00
the next day), `off` / `끄기`; `drop` / `버리기` after any of them discards what comes meanwhile
instead of summing it up. Times are the channel's; `now` is the injected Clock's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.alert_card import SEVERITIES, figures_text
from bot.domain.cards import Card, Footer, Severity
from bot.domain.i18n import Locale, format_datetime, has_message, t
from bot.domain.model import AlertEvent, parse_duration
from bot.domain.rules.canonical import rule_label

MAX_SNOOZE = timedelta(days=7)
SUMMARY_LINES = 10
TOMORROW_AT = time(8, 0)
"""`/snooze tomorrow` lasts until this time of the next day, in the channel's zone."""

_OFF = {"off", "끄기", "해제", "stop"}
_DROP = {"drop", "버리기", "버림"}
_SUMMARY = {"summary", "요약"}
_TOMORROW = {"tomorrow", "내일"}
_UNTIL = {"until", "까지"}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(까지)?$")
_KOREAN_UNITS = (("시간", "h"), ("분", "m"), ("일", "d"), ("초", "s"))


class SnoozeError(ValueError):
    """Words `/snooze` cannot read: a message key of the catalog and its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)


@dataclass(frozen=True)
class SnoozeRequest:
    """What `/snooze …` asks for: `until` (None: show the state), or `off`; and `drop`."""

    until: datetime | None = None
    drop: bool = False
    off: bool = False


def _next_clock_time(now: datetime, zone: ZoneInfo, hour: int, minute: int) -> datetime:
    local = now.astimezone(zone)
    target = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), zone)
    return target


def parse_snooze(words: Sequence[str], now: datetime, zone: ZoneInfo) -> SnoozeRequest:
    """Read `/snooze` words (see the module docstring); SnoozeError for anything else."""
    cleaned = [word.strip().lower() for word in words if word.strip()]
    drop = bool(cleaned) and cleaned[-1] in _DROP
    if cleaned and cleaned[-1] in _DROP | _SUMMARY:
        cleaned = cleaned[:-1]
    text = " ".join(cleaned)
    if not cleaned:
        if drop:
            raise SnoozeError("snooze.error_drop_alone")
        return SnoozeRequest()
    if text in _OFF:
        return SnoozeRequest(off=True)
    if text in _TOMORROW:
        local = now.astimezone(zone)
        until = datetime.combine(local.date() + timedelta(days=1), TOMORROW_AT, tzinfo=zone)
        return SnoozeRequest(until, drop)
    if cleaned[0] in _UNTIL:
        cleaned = cleaned[1:]
    clock = _CLOCK.match("".join(cleaned).removesuffix("까지").removeprefix("until="))
    if clock:
        until = _next_clock_time(now, zone, int(clock.group(1)), int(clock.group(2)))
        return SnoozeRequest(until, drop)
    duration = "".join(cleaned)
    for korean, unit in _KOREAN_UNITS:
        duration = duration.replace(korean, unit)
    try:
        seconds = parse_duration(duration)
    except ValueError:
        raise SnoozeError("snooze.error_words", text=text[:40]) from None
    if seconds <= 0:
        raise SnoozeError("snooze.error_words", text=text[:40])
    if timedelta(seconds=seconds) > MAX_SNOOZE:
        raise SnoozeError("snooze.error_too_long", text=text[:40])
    return SnoozeRequest(now + timedelta(seconds=seconds), drop)


def build_snooze_summary(
    events: Sequence[AlertEvent],
    *,
    locale: Locale,
    zone: ZoneInfo,
    names: Mapping[str, str],
    ended: datetime,
    source: str,
) -> Card:
    """The one message a channel gets when its snooze ends (at `ended`): the alerts held
    meanwhile, oldest first, at most `SUMMARY_LINES`, then "and N more"; its tier is the
    strongest alert's. `names` maps a custom rule's text to its saved name."""
    ordered = sorted(events, key=lambda e: e.fired_at)
    lines = []
    for event in ordered[:SUMMARY_LINES]:
        expression = event.payload.get("expression")
        text = str(expression) if expression else None
        label = rule_label(event.rule_id, text, names.get(text or ""))
        tier = f"tier.{event.severity}"
        tier_text = t(tier, locale) if has_message(tier) else event.severity
        figures = figures_text(event, locale)
        when = format_datetime(event.fired_at, locale, tz=zone)
        lines.append(f"• {when} · {label} [{tier_text}]" + (f" — {figures}" if figures else ""))
    if len(ordered) > SUMMARY_LINES:
        lines.append(t("snooze.summary_more", locale, count=len(ordered) - SUMMARY_LINES))
    severities = [SEVERITIES.get(e.severity, Severity.WARNING) for e in ordered]
    order = list(SEVERITIES.values())
    return Card(
        title=t("snooze.summary_title", locale, count=len(ordered)),
        severity=max(severities, key=order.index) if severities else Severity.INFO,
        text="\n".join(lines),
        footer=Footer(source, ended, t("common.disclaimer", locale)),
        banner=t("snooze.summary_banner", locale, ended=format_datetime(ended, locale, tz=zone)),
    )
