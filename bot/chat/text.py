"""Cards rendered as plain text (the console, logs of what was sent)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.cards import Card, CardField, Severity
from bot.domain.i18n import Locale, format_datetime, t


def _mark(severity: Severity, locale: Locale) -> str:
    """The severity mark before a title (``[CRITICAL] `` / ``[심각] ``); none for info."""
    if severity is Severity.INFO:
        return ""
    return t(f"severity.{severity.value}", locale) + " "


def _field_lines(fields: tuple[CardField, ...]) -> list[str]:
    lines = []
    for field in fields:
        value = field.value.replace("\n", "\n    ")
        lines.append(
            f"{field.name}: {value}" if "\n" not in value else f"{field.name}:\n    {value}"
        )
    return lines


def render_text(
    card: Card, locale: Locale, chart_path: str | None = None, zone: str | None = None
) -> str:
    """A card as text: banner, title, fields, sections, text, chart path, footer.

    Times are shown in `zone` (the channel's time zone); without one, Seoul time for a
    Korean channel and New York time otherwise.
    """
    lines = [card.banner] if card.banner else []
    lines.append(f"━━ {_mark(card.severity, locale)}{card.title} ━━")
    lines += _field_lines(card.fields)
    for section in card.sections:
        lines += ["", f"── {_mark(section.severity, locale)}{section.title}"]
        lines += _field_lines(section.fields)
        if section.text:
            lines.append(section.text)
    if card.text:
        lines += ["", card.text]
    if chart_path:
        lines += ["", f"{t('chart.saved', locale)}: {chart_path}"]
    footer = card.footer
    parts = []
    if footer.source:
        parts.append(f"{t('common.source', locale)}: {footer.source}")
    if footer.as_of:
        tz = ZoneInfo(zone or ("Asia/Seoul" if locale == "ko" else "America/New_York"))
        parts.append(
            t("common.as_of_time", locale, time=format_datetime(footer.as_of, locale, tz=tz))
        )
    if footer.disclaimer:
        parts.append(footer.disclaimer)
    if parts:
        lines += ["", "— " + " · ".join(parts)]
    return "\n".join(lines)
