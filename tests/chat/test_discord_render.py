"""Cards as embeds: colour, fields, footer, chart, sections — and trimmed to Discord's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.chat.discord.render import (
    COLOURS,
    EMBEDS_PER_MESSAGE,
    FIELDS_PER_EMBED,
    MESSAGE_LIMIT,
    render_card,
)
from bot.domain.cards import Card, CardField, CardSection, Footer, Severity

AS_OF = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)


def total(message_embeds: list) -> int:  # type: ignore[type-arg]
    return sum(len(embed) for embed in message_embeds)


def test_a_card_becomes_an_embed_coloured_by_severity_with_fields_footer_and_chart() -> None:
    card = Card(
        title="NVDA shock",
        severity=Severity.CRITICAL,
        fields=(CardField("NVDA", "−16.97 %"), CardField("SOX", "−9.15 %", inline=False)),
        text="DeepSeek R1.",
        chart_png=b"png",
        chart_name="nvda 2025.png",
        footer=Footer("shipped history", AS_OF, "Not investment advice"),
    )
    message = render_card(card, "en", "America/New_York")
    head, tail = (embed.to_dict() for embed in message.embeds)
    assert head["color"] == tail["color"] == COLOURS[Severity.CRITICAL]
    assert head["title"] == "[CRITICAL] NVDA shock"
    assert [f["inline"] for f in head["fields"]] == [True, False]
    assert "description" not in head, "the figures come first, the text after them"
    assert tail["description"] == "DeepSeek R1." and "title" not in tail
    assert tail["footer"]["text"] == (
        "Source: shipped history · as of Mon 27 Jan 2025 16:00 EST · Not investment advice"
    )
    assert tail["image"]["url"] == "attachment://nvda_2025.png"
    assert message.file() is not None
    assert message.allowed_mentions.to_dict() == {"parse": []}


def test_a_korean_channel_sees_seoul_time_in_the_footer() -> None:
    card = Card(title="충격", footer=Footer("기록", AS_OF, "투자 권유 아님"))
    footer = render_card(card, "ko", "Asia/Seoul").embeds[0].footer.text or ""
    assert "06:00 KST" in footer
    assert footer.endswith("투자 권유 아님")


def test_sections_become_extra_embeds_with_their_own_colour() -> None:
    sections = tuple(
        CardSection(f"rule {n}", Severity.WARNING, (CardField("SOX", "−5 %"),)) for n in range(3)
    )
    message = render_card(Card(title="3 alerts", sections=sections), "en")
    assert len(message.embeds) == 4
    assert message.embeds[1].colour is not None
    assert message.embeds[1].colour.value == COLOURS[Severity.WARNING]


def test_more_sections_than_embeds_are_summarised_in_the_last_one() -> None:
    sections = tuple(CardSection(f"rule {n}", Severity.NOTICE) for n in range(15))
    message = render_card(Card(title="many", sections=sections), "en")
    assert len(message.embeds) == EMBEDS_PER_MESSAGE
    assert "7 more alerts" in (message.embeds[-1].title or "")


def test_an_oversized_card_is_trimmed_within_every_limit_and_keeps_its_footer() -> None:
    huge = "x" * 5000
    card = Card(
        title="T" * 400,
        text=huge,
        fields=tuple(CardField("n" * 300, huge) for _ in range(40)),
        sections=tuple(CardSection("s" * 300, text=huge) for _ in range(12)),
        footer=Footer("src", AS_OF, "Not investment advice"),
    )
    message = render_card(card, "en")
    assert total(message.embeds) <= MESSAGE_LIMIT
    assert len(message.embeds) <= EMBEDS_PER_MESSAGE
    for embed in message.embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
        assert len(embed.fields) <= FIELDS_PER_EMBED
        for field in embed.fields:
            assert len(field.name or "") <= 256 and 0 < len(field.value or "") <= 1024
    assert (message.embeds[-1].footer.text or "").endswith("Not investment advice")


def test_no_mention_unless_the_card_names_someone() -> None:
    assert render_card(Card(title="x"), "en").content is None
    here = render_card(Card(title="x", mention="@here"), "en")
    assert here.content == "@here"
    assert here.allowed_mentions.everyone is True


text = st.text(max_size=3000)


@given(
    title=text,
    body=st.text(max_size=6000),
    fields=st.lists(st.tuples(text, text), max_size=30),
    sections=st.lists(st.tuples(text, text), max_size=12),
)
def test_any_card_fits_in_one_discord_message(
    title: str, body: str, fields: list[tuple[str, str]], sections: list[tuple[str, str]]
) -> None:
    card = Card(
        title=title,
        text=body,
        fields=tuple(CardField(n, v) for n, v in fields),
        sections=tuple(CardSection(n, text=v) for n, v in sections),
        footer=Footer("source", AS_OF, "disclaimer"),
    )
    message = render_card(card, "en")
    assert total(message.embeds) <= MESSAGE_LIMIT
    assert len(message.embeds) <= EMBEDS_PER_MESSAGE
    assert message.embeds[0].title, "the first embed carries the title"
    for embed in message.embeds:
        assert len(embed.title or "") <= 256
        assert embed.title or embed.description or embed.fields or embed.footer.text
        assert len(embed.fields) <= FIELDS_PER_EMBED
        assert all(f.name and f.value and len(f.value) <= 1024 for f in embed.fields)
