"""Cards as Discord embeds: colour by severity and direction (``bot.domain.tiers``: a rally
in the reader's up colour), fields, footer, chart — trimmed to fit.

Discord refuses (400) a message over its limits; the renderer trims instead: 256 characters
per title or field name, 4,096 per description, 1,024 per field value, 2,048 per footer,
25 fields per embed, 10 embeds and 6,000 characters per message, 2,000 of content.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.chat.text import footer_parts
from bot.domain.cards import Card, CardField, CardSection, Direction, Severity
from bot.domain.i18n import Locale, t
from bot.domain.tiers import severity_colour, severity_mark

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
MESSAGE_LIMIT = 6000
CONTENT_LIMIT = 2000
_BLANK = "\u200b"  # Discord refuses empty field names and values
_MORE_RESERVE = 40  # room kept for the "… N more" note when trimming

COLOURS: dict[Severity, int] = {
    severity: severity_colour(severity, None, "en") for severity in Severity
}
"""The neutral palette (a card without a direction); see ``bot.domain.tiers``."""


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, ending in "…" when something was cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1].rstrip() + "…"


@dataclass
class _Block:
    """One embed before trimming."""

    title: str
    severity: Severity
    text: str = ""
    fields: list[CardField] = field(default_factory=list)
    titled: bool = True
    """False for the embed that carries the text after the figures (it has no title)."""
    direction: Direction | None = None


@dataclass(frozen=True)
class RenderedMessage:
    """What one send takes: content (mention, banner), embeds, an optional PNG and who to ping."""

    content: str | None
    embeds: list[discord.Embed]
    chart_png: bytes | None
    chart_name: str
    allowed_mentions: discord.AllowedMentions

    def file(self) -> discord.File | None:
        """A fresh `discord.File` for the chart (a File can be sent only once)."""
        if self.chart_png is None:
            return None
        return discord.File(io.BytesIO(self.chart_png), filename=self.chart_name)

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `Messageable.send` / `send_message` / `followup.send`."""
        kwargs: dict[str, Any] = {
            "embeds": self.embeds,
            "allowed_mentions": self.allowed_mentions,
        }
        if self.content:
            kwargs["content"] = self.content
        chart = self.file()
        if chart is not None:
            kwargs["file"] = chart
        return kwargs


def _mark(severity: Severity, locale: Locale, direction: Direction | None = None) -> str:
    if severity is Severity.ERROR:
        return ""
    return severity_mark(severity, direction, locale)


def _blocks(card: Card, locale: Locale) -> list[_Block]:
    """The embeds in the card-layout contract's order: title and figures; the grouped alerts;
    then the long text (views) and what followed, after the figures as on Slack."""
    title = _mark(card.severity, locale, card.direction) + card.title
    head = _Block(title, card.severity, "", [*card.fields], direction=card.direction)
    closing = _Block(
        "", card.severity, card.text, [*card.closing], titled=False, direction=card.direction
    )
    tail = [closing] if card.text or card.closing else []
    if not card.fields and not card.sections and tail:  # nothing comes before the text
        head = _Block(title, card.severity, card.text, [*card.closing], direction=card.direction)
        tail = []
    blocks = [head]
    sections = list(card.sections)
    room = EMBEDS_PER_MESSAGE - 1 - len(tail)
    for section in sections[:room]:
        title = _mark(section.severity, locale, section.direction) + section.title
        blocks.append(
            _Block(
                title,
                section.severity,
                section.text,
                [*section.fields],
                direction=section.direction,
            )
        )
    if len(sections) > room:
        rest = sections[room - 1 :]
        blocks.pop()
        names = "\n".join(f"• {_mark(s.severity, locale, s.direction)}{s.title}" for s in rest)
        summary = t("discord.more_sections", locale, count=len(rest))
        directions = {s.direction for s in rest}
        shared = directions.pop() if len(directions) == 1 else None
        blocks.append(_Block(summary, max_severity(rest), names, direction=shared))
    blocks += tail
    for block in blocks:
        if len(block.fields) > FIELDS_PER_EMBED:
            extra = len(block.fields) - FIELDS_PER_EMBED + 1
            block.fields = block.fields[: FIELDS_PER_EMBED - 1]
            more = t("discord.more_fields", locale, count=extra)
            block.fields.append(CardField(_BLANK, more, inline=False))
    return blocks


def max_severity(items: Sequence[CardSection]) -> Severity:
    """The loudest severity among sections."""
    order = list(Severity)
    return max((item.severity for item in items), key=order.index, default=Severity.INFO)


def footer_text(card: Card, locale: Locale, zone: str | None) -> str:
    """Source · as-of time (in the channel's zone, UTC when unknown) · disclaimer."""
    return cut(" · ".join(footer_parts(card, locale, zone)), FOOTER_LIMIT)


def _trim(blocks: list[_Block], footer: str, locale: Locale) -> None:
    """Cut pieces to their own limits, then to the 6,000-character message budget.

    Titles and the footer are kept first; descriptions and fields fill what is left in
    display order, and whatever no longer fits is dropped with a "… N more" note.
    """
    for block in blocks:
        block.title = cut(block.title.strip(), TITLE_LIMIT) or (_BLANK if block.titled else "")
    budget = MESSAGE_LIMIT - len(footer) - sum(len(b.title) for b in blocks) - _MORE_RESERVE
    dropped = 0
    for block in blocks:
        text = cut(block.text.strip(), min(DESCRIPTION_LIMIT, max(budget, 0)))
        if block.text and len(text) < min(len(block.text), 20):
            text = ""
            dropped += 1
        block.text = text
        budget -= len(text)
        kept = []
        for item in block.fields:
            name = cut(item.name.strip(), FIELD_NAME_LIMIT) or _BLANK
            room = min(FIELD_VALUE_LIMIT, budget - len(name))
            value = cut(item.value.strip(), room) if room > 0 else ""
            if room < min(len(item.value), 20) or not name:
                dropped += 1
                continue
            kept.append(CardField(name, value or _BLANK, item.inline))
            budget -= len(name) + len(value or _BLANK)
        block.fields = kept
    if dropped:
        note = cut(t("discord.trimmed", locale, count=dropped), _MORE_RESERVE)
        last = blocks[-1]
        if len(last.fields) >= FIELDS_PER_EMBED:
            last.fields.pop()
        last.fields.append(CardField(_BLANK, note, inline=False))


def mention_of(card: Card) -> tuple[str | None, discord.AllowedMentions]:
    """The ping text and the matching allowed mentions: nobody unless the card names someone.

    A Discord role id pings that role only; `@here` / `@everyone` ping as they say.
    """
    target = (card.mention or "").strip()
    if target.isdigit():
        allowed = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(int(target))], replied_user=False
        )
        return f"<@&{target}>", allowed
    if target in ("@here", "@everyone"):
        allowed = discord.AllowedMentions(
            everyone=True, users=False, roles=False, replied_user=False
        )
        return target, allowed
    return None, discord.AllowedMentions.none()


def render_card(card: Card, locale: Locale, zone: str | None = None) -> RenderedMessage:
    """A Card as one Discord message within every limit (never a 400 for its size)."""
    blocks = _blocks(card, locale)
    footer = footer_text(card, locale, zone)
    _trim(blocks, footer, locale)
    embeds = []
    for block in blocks:
        embed = discord.Embed(
            title=block.title or None,
            description=block.text or None,
            colour=severity_colour(block.severity, block.direction, locale),
        )
        for item in block.fields:
            embed.add_field(name=item.name, value=item.value, inline=item.inline)
        embeds.append(embed)
    if footer:
        embeds[-1].set_footer(text=footer)
    if card.footer.as_of is not None:
        embeds[-1].timestamp = card.footer.as_of
    name = card.chart_name if card.chart_name.endswith(".png") else card.chart_name + ".png"
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "chart.png"
    if card.chart_png is not None:  # at the bottom, above the footer (the contract's order)
        embeds[-1].set_image(url=f"attachment://{name}")
    ping, allowed = mention_of(card)
    content = " ".join(part for part in (ping, card.banner) if part) or None
    return RenderedMessage(
        cut(content, CONTENT_LIMIT) if content else None,
        embeds,
        card.chart_png,
        name,
        allowed,
    )
