"""One footer (source · as-of in the channel's time zone · disclaimer) for every renderer."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from bot.app import bootstrap
from bot.chat.console.app import run_console
from bot.chat.discord.render import render_card
from bot.chat.slack.render import render_blocks
from bot.chat.text import footer_parts, render_text
from bot.domain.cards import Card, Footer
from bot.domain.model import Channel, ChannelRef
from bot.services import Core

AS_OF = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
CARD = Card(title="NVDA shock", footer=Footer("shipped history", AS_OF, "Not investment advice"))


def _shown(card: Card, locale: str, zone: str | None) -> tuple[str, str, str]:
    text = render_text(card, locale, zone=zone).splitlines()[-1].removeprefix("— ")
    blocks, _ = render_blocks(card, locale, zone=zone)
    slack = blocks[-1]["elements"][-1]["text"]
    discord = render_card(card, locale, zone).embeds[-1].footer.text or ""
    return text, slack, discord


def test_footer_parts_are_source_as_of_in_the_channel_zone_and_disclaimer() -> None:
    assert footer_parts(CARD, "en", "Asia/Tokyo") == [
        "Source: shipped history",
        "as of Tue 28 Jan 2025 06:00 JST",
        "Not investment advice",
    ]


def test_text_slack_and_discord_show_the_same_footer_in_the_channel_zone() -> None:
    expected = " · ".join(footer_parts(CARD, "en", "America/New_York"))
    assert "16:00 EST" in expected
    assert _shown(CARD, "en", "America/New_York") == (expected, expected, expected)


def test_the_zone_comes_from_the_channel_not_the_language() -> None:
    for renderer_footer in _shown(CARD, "ko", "America/New_York"):
        assert "EST" in renderer_footer and "KST" not in renderer_footer
    for renderer_footer in _shown(CARD, "en", "Asia/Seoul"):
        assert "KST" in renderer_footer


def test_an_unknown_zone_falls_back_to_utc_in_every_renderer() -> None:
    for zone in (None, "", "Not/AZone"):
        for renderer_footer in _shown(CARD, "ko", zone):
            assert "06:00" not in renderer_footer and "21:00" in renderer_footer


def test_a_card_without_footer_data_has_no_footer_parts() -> None:
    assert footer_parts(Card(title="x"), "en", "UTC") == []


async def test_the_console_shows_times_in_its_channel_zone(core: Core, tmp_path: Path) -> None:
    ref = ChannelRef("console", "local", "tokyo")
    app = await bootstrap(core.settings, store_url=f"sqlite:///{tmp_path / 'tz.db'}", core=core)
    out = io.StringIO()
    try:
        await app.store.upsert_channel(Channel(ref, language="en", timezone="Asia/Tokyo"))
        await run_console(
            app.services,
            app.registry,
            language=None,
            chart_dir=tmp_path,
            stream=io.StringIO("/shock NVDA 2025-01-27\n"),
            out=out,
            channel=ref,
        )
    finally:
        await app.close()
    footer = [line for line in out.getvalue().splitlines() if line.startswith("— ")]
    assert footer and "JST" in footer[-1]
