"""Cards as Slack Block Kit: blocks within Slack's limits plus a plain `text` fallback.

Cards hold plain text; everything shown through mrkdwn is escaped (&, <, >) so a user's
symbol or rule can never ping a channel or forge a link. Limits (trimmed, never failed):
50 blocks, header 150 characters, section text 3,000, 10 fields per section (2,000 each),
10 context elements.
"""

from __future__ import annotations

from typing import Any

from bot.chat.limits import take, trim, trim_lines
from bot.chat.text import footer_parts, render_text
from bot.domain.cards import Card, CardField, CardSection, Direction, Severity
from bot.domain.i18n import Locale, t
from bot.domain.tiers import severity_colour, severity_mark

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000

Block = dict[str, Any]

_EMOJI = {
    Severity.INFO: "",
    Severity.NOTICE: ":large_blue_circle: ",
    Severity.WARNING: ":warning: ",
    Severity.CRITICAL: ":rotating_light: ",
    Severity.ERROR: ":grey_question: ",
}
_RALLY_EMOJI = ":chart_with_upwards_trend: "
"""A rally's tiers (a card whose direction is "up") instead of the alarm emoji."""


def escape(text: str) -> str:
    """Escape Slack's mrkdwn control characters (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention_markup(mention: str | None) -> str:
    """`<!here>` or `<!subteam^ID>` for a Card's mention (a user group id, or the
    `subteam^ID` older versions stored); empty when there is none."""
    if not mention:
        return ""
    cleaned = mention.strip().lstrip("@").removeprefix("subteam^")
    if cleaned in ("here", "channel", "everyone"):
        return "<!here>" if cleaned == "here" else f"<!{cleaned}>"
    if cleaned.replace("_", "").isalnum():
        return f"<!subteam^{cleaned}>"
    return ""


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _fields(fields: tuple[CardField, ...]) -> list[Block]:
    blocks: list[Block] = []
    kept, _ = take(fields, MAX_FIELDS * 4)
    for start in range(0, len(kept), MAX_FIELDS):
        chunk = kept[start : start + MAX_FIELDS]
        items = [
            _mrkdwn(trim(f"*{escape(f.name)}*\n{escape(f.value)}", MAX_FIELD_TEXT)) for f in chunk
        ]
        blocks.append({"type": "section", "fields": items})
    return blocks


def _text_section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(trim_lines(escape(text), MAX_SECTION_TEXT))}


def _emoji(severity: Severity, direction: Direction | None) -> str:
    if direction == "up" and severity in (Severity.NOTICE, Severity.WARNING, Severity.CRITICAL):
        return _RALLY_EMOJI
    return _EMOJI[severity]


def colour_attachments(card: Card, locale: Locale) -> list[Block]:
    """The tier as a coloured attachment bar (Slack's only colour): the direction's colour in
    the reader's convention (``bot.domain.tiers``), with the tier's mark; [] for a card
    without a tier."""
    if card.severity not in (Severity.NOTICE, Severity.WARNING, Severity.CRITICAL):
        return []
    mark = severity_mark(card.severity, card.direction, locale).strip()
    colour = f"#{severity_colour(card.severity, card.direction, locale):06x}"
    return [{"color": colour, "fallback": mark, "text": escape(mark)}]


def _section_blocks(section: CardSection) -> list[Block]:
    title = f"{_emoji(section.severity, section.direction)}*{escape(section.title)}*"
    blocks: list[Block] = [{"type": "section", "text": _mrkdwn(trim(title, MAX_SECTION_TEXT))}]
    blocks += _fields(section.fields)
    if section.text:
        blocks.append(_text_section(section.text))
    return blocks


def render_blocks(
    card: Card, locale: Locale, *, zone: str | None = None, notes: tuple[str, ...] = ()
) -> tuple[list[Block], str]:
    """The card as (blocks, fallback text); `notes` are extra context lines (invite hint).

    Times are shown in `zone`, the channel's time zone (UTC when it is not known).
    """
    head: list[Block] = []
    ping = mention_markup(card.mention)
    if ping:
        head.append({"type": "section", "text": _mrkdwn(ping)})
    if card.banner:
        head.append({"type": "context", "elements": [_mrkdwn(trim(escape(card.banner), 2000))]})
    title = trim(f"{_emoji(card.severity, card.direction)}{card.title}", MAX_HEADER)
    head.append({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}})
    head += _fields(card.fields)
    tail: list[Block] = []
    if card.text:
        tail.append(_text_section(card.text))
    tail += _fields(card.closing)
    context = [escape(note) for note in notes]
    footer = " · ".join(footer_parts(card, locale, zone))
    if footer:
        context.append(escape(footer))
    if context:
        elements = [_mrkdwn(trim(text, MAX_CONTEXT_TEXT)) for text in context[:10]]
        tail.append({"type": "context", "elements": elements})
    body: list[Block] = []
    room = MAX_BLOCKS - len(head) - len(tail) - 1  # one block kept for "n more"
    left_out = 0
    for index, section in enumerate(card.sections):
        blocks = _section_blocks(section)
        if len(body) + len(blocks) > room:
            left_out = len(card.sections) - index
            break
        body += blocks
    if left_out:
        more = t("slack.more", locale, n=left_out)
        body.append({"type": "context", "elements": [_mrkdwn(more)]})
    blocks = (head + body + tail)[:MAX_BLOCKS]
    fallback = escape(render_text(card, locale, zone=zone))
    if ping:
        fallback = f"{ping} {fallback}"
    return blocks, trim_lines(fallback, MAX_FALLBACK_TEXT)
