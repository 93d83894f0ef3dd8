"""Cards rendered as plain text (the console, logs of what was sent)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.cards import Card, Severity
from bot.domain.i18n import Locale, format_datetime, t


def _mark(severity: Severity, locale: Locale) -> str:
    """The severity mark before a title (``[CRITICAL] `` / ``[심각] ``); none for info."""
    if severity is Severity.INFO:
        return ""
    return t(f"severity.{severity.value}", locale) + " "


def render_text(card: Card, locale: Locale, chart_path: str | None = None) -> str:
    """A card as text: title, fields, text, chart path, footer."""
    lines = [f"━━ {_mark(card.severity, locale)}{card.title} ━━"]
    for field in card.fields:
        value = field.value.replace("\n", "\n    ")
        lines.append(
            f"{field.name}: {value}" if "\n" not in value else f"{field.name}:\n    {value}"
        )
    if card.text:
        lines += ["", card.text.replace("**", "")]
    if chart_path:
        lines += ["", f"{t('chart.saved', locale)}: {chart_path}"]
    footer = card.footer
    parts = []
    if footer.source:
        parts.append(f"{t('common.source', locale)}: {footer.source}")
    if footer.as_of:
        zone = ZoneInfo("Asia/Seoul" if locale == "ko" else "America/New_York")
        parts.append(
            t("common.as_of_time", locale, time=format_datetime(footer.as_of, locale, tz=zone))
        )
    if footer.disclaimer:
        parts.append(footer.disclaimer)
    if parts:
        lines += ["", "— " + " · ".join(parts)]
    return "\n".join(lines)
