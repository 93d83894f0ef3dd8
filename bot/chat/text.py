"""Cards rendered as plain text (the console, logs of what was sent)."""

from __future__ import annotations

from bot.domain.cards import Card, CardField, Direction, Severity
from bot.domain.i18n import Locale, channel_zone, format_datetime, t
from bot.domain.tiers import severity_mark


def _mark(severity: Severity, locale: Locale, direction: Direction | None = None) -> str:
    """The severity mark before a title (``[CRITICAL] `` / ``[심각] ``, a rally's
    ``[SURGE] ``); none for info."""
    return severity_mark(severity, direction, locale)


def _field_lines(fields: tuple[CardField, ...]) -> list[str]:
    lines = []
    for field in fields:
        value = field.value.replace("\n", "\n    ")
        lines.append(
            f"{field.name}: {value}" if "\n" not in value else f"{field.name}:\n    {value}"
        )
    return lines


def footer_parts(card: Card, locale: Locale, zone: str | None) -> list[str]:
    """A card's footer as parts to join: source, as-of time in the channel's `zone`, disclaimer.

    Every renderer (text, Slack, Discord) shows the same footer; `zone` is the channel's
    time zone (`Channel.timezone`), UTC when it is not known.
    """
    footer = card.footer
    parts = []
    if footer.source:
        parts.append(f"{t('common.source', locale)}: {footer.source}")
    if footer.as_of:
        stamp = format_datetime(footer.as_of, locale, tz=channel_zone(zone))
        parts.append(t("common.as_of_time", locale, time=stamp))
    if footer.disclaimer:
        parts.append(footer.disclaimer)
    return parts


def render_text(
    card: Card, locale: Locale, chart_path: str | None = None, zone: str | None = None
) -> str:
    """A card as text: banner, title, fields, sections, text, closing fields, chart path,
    footer.

    Times are shown in `zone` (the channel's time zone), UTC when it is not known.
    """
    lines = [card.banner] if card.banner else []
    lines.append(f"━━ {_mark(card.severity, locale, card.direction)}{card.title} ━━")
    lines += _field_lines(card.fields)
    for section in card.sections:
        lines += ["", f"── {_mark(section.severity, locale, section.direction)}{section.title}"]
        lines += _field_lines(section.fields)
        if section.text:
            lines.append(section.text)
    if card.text:
        lines += ["", card.text]
    if card.closing:
        lines += ["", *_field_lines(card.closing)]
    if chart_path:
        lines += ["", f"{t('chart.saved', locale)}: {chart_path}"]
    parts = footer_parts(card, locale, zone)
    if parts:
        lines += ["", "— " + " · ".join(parts)]
    return "\n".join(lines)
