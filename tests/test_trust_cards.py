"""Cards a trader can trust: views in context, sources named, severities that match the move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.harness import Harness
from bot.chat.text import render_text
from bot.domain.analysis import card_tier, own_move_tier
from bot.domain.cards import Card, Severity
from bot.services import Core

TIERS = {
    "z_tiers": {"notice": 2, "warning": 3, "critical": 4},
    "move_tiers": {"notice": 3, "warning": 5, "critical": 8},
}


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


def fields_of(card: Card) -> dict[str, str]:
    return {field.name: field.value for field in card.fields}


# --- item 1: views in context ----------------------------------------------------------------


async def test_covid_crash_card_says_no_view_speaks_to_it(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2020-03-16")
    assert card.text == "No view on file speaks to this move."
    assert "DeepSeek" not in card.text and "KCIF" not in card.text


@pytest.mark.parametrize("command", ['/shock "^GSPC" 2024-08-05', "/shock SPY 2025-04-04"])
async def test_other_market_crashes_get_no_deepseek_views(harness: Harness, command: str) -> None:
    card = await harness.run(command)
    assert card.text == "No view on file speaks to this move."


async def test_the_deepseek_day_shows_its_own_views_unlabelled(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    assert "said about" not in card.text
    assert "(Fact)" in card.text or "(Bullish)" in card.text


async def test_a_korean_card_of_the_deepseek_week_shows_its_views(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/shock HYNIX 2025-01-31")
    assert "에 대한 발언" not in card.text and "—" in card.text


# --- item 3: severity that matches the move --------------------------------------------------


def test_own_tier_is_the_higher_of_the_z_tier_and_the_move_tier() -> None:
    assert own_move_tier(-2.9, -18.44, TIERS) == "critical"  # NVDA 2020-03-16
    assert own_move_tier(0.8, 0.68, TIERS) is None  # the Dow on the DeepSeek day
    assert own_move_tier(-4.1, -1.2, TIERS) == "critical"
    assert own_move_tier(None, -5.5, TIERS) == "warning"
    assert own_move_tier(None, None, TIERS) is None


def test_a_preset_lifts_the_card_only_when_its_own_move_is_at_least_a_notice() -> None:
    assert card_tier(None, ["critical"]) is None
    assert card_tier("notice", ["critical"]) == "critical"
    assert card_tier("warning", []) == "warning"


@pytest.mark.parametrize(
    ("command", "severity"),
    [
        ("/shock DJI 2025-01-27", Severity.INFO),  # +0.68 %, deepseek reads DJI.pct > 0
        ("/shock SPX 2025-01-27", Severity.INFO),  # −1.46 %, z −1.6
        ("/shock NVDA 2020-03-16", Severity.CRITICAL),  # −18.44 %
        ("/shock NVDA 2025-01-27", Severity.CRITICAL),
    ],
)
async def test_a_shock_cards_severity_matches_the_symbols_own_move(
    harness: Harness, command: str, severity: Severity
) -> None:
    card = await harness.run(command)
    assert card.severity is severity


async def test_the_presets_that_fired_are_listed_with_their_own_severities(
    harness: Harness,
) -> None:
    card = await harness.run("/shock DJI 2025-01-27")
    fields = fields_of(card)
    presets = next(value for name, value in fields.items() if name.startswith("Presets on"))
    assert "deepseek [critical]" in presets


@pytest.mark.parametrize("command", ["/lang ko", "/subscribe alerts deepseek", "/lang en"])
async def test_plain_confirmations_carry_no_warning_mark(harness: Harness, command: str) -> None:
    card = await harness.run(command)
    assert card.severity is Severity.INFO
    assert "[주의]" not in render_text(card, "ko") and "[notice]" not in render_text(card, "en")
