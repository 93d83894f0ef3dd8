"""Block Kit rendering: within Slack's limits by trimming, mrkdwn escaped, a text fallback."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat.slack.render import MAX_BLOCKS, escape, mention_markup, render_blocks
from bot.domain.cards import Card, CardField, CardSection, Footer, Severity


def test_user_text_is_escaped_so_it_cannot_ping_or_link() -> None:
    card = Card(title="x", text="<!channel> & <https://evil|click>")
    blocks, text = render_blocks(card, "en")
    shown = blocks[-1]["text"]["text"]
    assert "<" not in shown and ">" not in shown
    assert shown == escape("<!channel> & <https://evil|click>")
    assert "<!channel>" not in text


def test_a_huge_grouped_alert_stays_within_50_blocks_and_says_how_many_were_left_out() -> None:
    sections = tuple(
        CardSection(f"rule {n}", Severity.WARNING, (CardField("SOX", "−9 %"),), "why " * 10)
        for n in range(40)
    )
    card = Card(title="T" * 400, sections=sections, text="y" * 9000, footer=Footer("Yahoo"))
    blocks, text = render_blocks(card, "en")
    assert len(blocks) <= MAX_BLOCKS
    header = next(b for b in blocks if b["type"] == "header")
    assert len(header["text"]["text"]) <= 150
    assert all(
        len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b and b["type"] != "header"
    )
    assert any(
        "more not shown" in b["elements"][0]["text"] for b in blocks if b["type"] == "context"
    )
    assert len(text) <= 3000


def test_more_than_ten_fields_are_split_over_sections_of_ten() -> None:
    card = Card(title="quotes", fields=tuple(CardField(f"S{n}", "1 %") for n in range(23)))
    blocks, _ = render_blocks(card, "en")
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10, 3]


def test_the_footer_shows_source_time_and_disclaimer_in_the_channels_language() -> None:
    as_of = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
    card = Card(title="t", footer=Footer("Yahoo Finance", as_of, "투자 권유 아님"))
    blocks, _ = render_blocks(card, "ko", zone="Asia/Seoul")
    footer = blocks[-1]["elements"][-1]["text"]
    assert "Yahoo Finance" in footer and "투자 권유 아님" in footer and "기준" in footer


def test_a_mention_becomes_a_user_group_or_here_ping() -> None:
    assert mention_markup("@here") == "<!here>"
    assert mention_markup("S0123ABC") == "<!subteam^S0123ABC>"
    assert mention_markup("<!channel|x>") == ""
    blocks, text = render_blocks(Card(title="t", mention="S0123ABC"), "en")
    assert blocks[0]["text"]["text"] == "<!subteam^S0123ABC>"
    assert text.startswith("<!subteam^S0123ABC>")
