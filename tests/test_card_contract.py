"""Every card in the card-layout contract's order and room (ARCHITECTURE.md), on every
platform: title, figures, when, views, what followed, chart, footer — alerts, /shock, digests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chat.discord.render import render_card
from bot.chat.slack.render import render_blocks
from bot.chat.text import render_text
from bot.domain.cards import Card
from bot.harness import Harness
from bot.services import Core
from jobs.digest import DigestSettings, run_digests

FOOTER = "Not investment advice"


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


def discord_order(card: Card) -> list[str]:
    """What a Discord reader sees, top to bottom: per embed its title, description, fields,
    image, then the footer."""
    shown: list[str] = []
    for embed in render_card(card, "en", "America/New_York").embeds:
        data = embed.to_dict()
        shown += [data.get("title", ""), data.get("description", "")]
        shown += [f"{f['name']}\n{f['value']}" for f in data.get("fields", [])]
        shown.append("[chart]" if "image" in data else "")
        shown.append(data.get("footer", {}).get("text", ""))
    return shown


def slack_order(card: Card) -> list[str]:
    """The Block Kit blocks' text, in order. The chart is uploaded to the message's thread
    (Block Kit shows no attached image), so it is not among them."""
    blocks, _ = render_blocks(card, "en", zone="America/New_York")
    shown: list[str] = []
    for block in blocks:
        text: Any = block.get("text") or {}
        shown.append(text.get("text", "") if isinstance(text, dict) else "")
        shown += [f["text"] for f in block.get("fields", [])]
        shown += [e["text"] for e in block.get("elements", [])]
    return shown


def positions(shown: list[str], markers: list[str]) -> list[int]:
    """Where each marker first appears among the rendered parts (its index)."""
    found = []
    for marker in markers:
        hits = [i for i, part in enumerate(shown) if marker in part]
        assert hits, f"{marker!r} not shown"
        found.append(hits[0])
    return found


def assert_in_order(card: Card, markers: list[str]) -> None:
    """The markers appear in this order in the text, on Slack and on Discord."""
    text = render_text(card, "en", chart_path="[chart]", zone="America/New_York")
    at = [text.index(marker) for marker in markers]
    assert at == sorted(at), ("text", markers)
    for name, shown in (("slack", slack_order(card)), ("discord", discord_order(card))):
        wanted = [m for m in markers if name == "discord" or m != "[chart]"]
        found = positions(shown, wanted)
        assert found == sorted(found), (name, list(zip(wanted, found, strict=True)))


def assert_within_room(card: Card, *, views: int = 2) -> None:
    """Title ≤ 256, figures ≤ 10 fields, each view ≤ 600 characters, what followed ≤ 4 lines,
    footer ≤ 2,048."""
    assert len(card.title) <= 256
    assert len(card.fields) <= 10
    # a view is a paragraph ending in its attribution ("— who, where, when"); the episode's
    # heading line above them is not a view
    paragraphs = [p for p in card.text.split("\n\n") if "\n— " in p]
    assert len(paragraphs) <= views and all(len(p) <= 600 for p in paragraphs)
    assert sum(len(f.value.splitlines()) for f in card.closing) <= 4
    footer = " · ".join(part for part in (card.footer.source, card.footer.disclaimer) if part)
    assert len(footer) <= 2048


async def test_the_shock_card_shows_figures_then_views_then_what_followed(
    harness: Harness,
) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    assert_in_order(
        card,
        ["NVDA shock", "−16.97 %", "Kwon Do-hyun", "What followed", "[chart]", FOOTER],
    )
    assert_within_room(card)


async def test_a_grouped_close_alert_shows_figures_when_view_what_followed(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts deepseek")
    await harness.run("/subscribe alerts chip_crash")
    [alert] = await harness.replay_print("2025-01-27", "close")
    card = alert.card
    assert card.sections, "several alerts in one message"
    assert_in_order(
        card,
        ["2 alerts at the close", "SOX −9.15 %", "Print: close", "Kwon Do-hyun", "Most similar"],
    )
    assert_within_room(card, views=2)


async def test_a_single_open_alert_shows_figures_when_then_the_note_on_similar_sessions(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts chip_crash")
    [alert] = await harness.replay_print("2025-01-27", "open")
    card = alert.card
    assert not card.sections
    assert_in_order(
        card,
        ["Chip crash", "SOX −6.25 %", "Print", "Ray Dalio", "Similar past sessions", FOOTER],
    )
    [note] = card.closing
    assert note.value.count("Similar past sessions") == 0, "its heading once"
    assert_within_room(card, views=2)


async def test_the_digest_shows_figures_then_the_day_s_alerts_then_the_view(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts deepseek")
    await harness.run("/subscribe digest 06:30 Asia/Seoul")
    await harness.replay_print("2025-01-27", "close")
    harness.clock.set(datetime(2025, 1, 27, 21, 31, tzinfo=UTC))
    await run_digests(harness.services, harness.clock.now(), DigestSettings(grace_minutes=5))
    [digest] = await harness.deliver()
    card = digest.card
    assert card.title.startswith("US market digest") and card.severity.value == "critical"
    assert_in_order(card, ["US market digest", "SOX", "Rules that fired", "DeepSeek shock ("])
    assert_within_room(card, views=2)
