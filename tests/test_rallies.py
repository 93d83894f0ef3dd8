"""Rallies and volatility, not only crashes: pct5/pct20, the rally and VIX presets, and tiers
that read a rally as good news (names, embed and attachment colours)."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from bot.chat.discord.render import render_card
from bot.chat.slack.render import colour_attachments, render_blocks
from bot.chat.text import render_text
from bot.domain.backtest import run_backtest
from bot.domain.calendars import session_calendar
from bot.domain.cards import Card, CardSection, Severity
from bot.domain.price_metrics import Unavailable
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.parser import RuleError, metric_refs, parse_rule
from bot.domain.rules.presets import PresetError, build_preset, custom_rule
from bot.domain.tiers import severity_colour, tier_name
from bot.feeds.backfill import BackfillCache
from bot.feeds.live_market import LiveMarket
from bot.ports import Print
from bot.services import Core
from tests.conftest import PROJECT_ROOT, PYTHON

RELIEF_DAY = pd.Timestamp("2025-04-09")  # SOX +18.74 %, SPY +10.50 %


def _outcomes(core: Core, rules: CompiledRules, day: str, stage: str = "close") -> dict:  # type: ignore[type-arg]
    snapshot = core.market.snapshot(pd.Timestamp(day), stage)  # type: ignore[arg-type]
    return {outcome.rule.id: outcome for outcome in rules.evaluate(snapshot)}


# --- pct5 / pct20 ------------------------------------------------------------------------------


def test_pct5_and_pct20_are_the_moves_against_the_close_5_and_20_sessions_back(core: Core) -> None:
    sox = core.market.symbols.resolve("SOX")
    snapshot = core.market.snapshot(RELIEF_DAY, "close")
    closes = core.market.table("^SOX").frame["close"]  # type: ignore[union-attr]
    position = int(closes.index.get_loc(RELIEF_DAY))
    for metric, back in (("pct5", 5), ("pct20", 20)):
        expected = (closes.iloc[position] / closes.iloc[position - back] - 1) * 100
        assert snapshot.read(sox, metric).number == pytest.approx(expected)
    assert round(snapshot.read(sox, "pct5").number or 0, 2) == -2.09


def test_at_the_open_a_multi_session_move_compounds_the_gap(core: Core) -> None:
    sox = core.market.symbols.resolve("SOX")
    frame = core.market.table("^SOX").frame  # type: ignore[union-attr]
    position = int(frame.index.get_loc(RELIEF_DAY))
    opening = core.market.snapshot(RELIEF_DAY, "open").read(sox, "pct5").number
    expected = (frame["open"].iloc[position] / frame["close"].iloc[position - 5] - 1) * 100
    assert opening == pytest.approx(expected)


def test_the_rule_language_reads_pct5_and_pct20_and_suggests_them(core: Core) -> None:
    rule = custom_rule("SOX.pct5 <= -10 and SOX.pct20 < 0", core.market.symbols)
    assert [ref.metric for ref in metric_refs(rule.tree)] == ["pct5", "pct20"]
    with pytest.raises(RuleError, match="did you mean pct20"):
        parse_rule("SOX.pct200 < 0", core.market.symbols)


def test_the_backtest_reads_pct20_as_the_scalar_engine_does(core: Core) -> None:
    rule = custom_rule("SOX.pct20 <= -30", core.market.symbols)
    found = run_backtest(core.market, rule, pd.Timestamp("2020-03-01"), pd.Timestamp("2020-04-30"))
    dates = [firing.date.date().isoformat() for firing in found.firings]
    assert "2020-03-16" in dates
    compiled = CompiledRules([rule])
    for firing in found.firings:
        [outcome] = compiled.evaluate(core.market.snapshot(firing.date, "close"))
        assert outcome.fired
        assert firing.inputs["SOX.pct20"] == pytest.approx(outcome.inputs[0].number)
    at_open = run_backtest(core.market, rule, pd.Timestamp("2020-03-01"), at="open")
    assert at_open.firings and all(f.inputs["SOX.pct20"] is not None for f in at_open.firings)


def test_a_multi_session_move_needs_both_ends_like_pct(core: Core) -> None:
    missing = pd.Timestamp("2025-09-19")  # absent from the SK hynix file
    sessions = core.market.table("000660.KS").frame.index  # type: ignore[union-attr]
    fifth = sessions[int(sessions.get_loc(missing)) + 5]
    closed = session_calendar("XKRX").schedule.at[fifth, "close"]
    quote = core.market.quote_at("000660.KS", pd.Timestamp(closed).to_pydatetime(), fifth)
    assert not isinstance(quote, Unavailable)
    value = quote.metric("pct5")
    assert isinstance(value, Unavailable) and value.code == "missing_previous"
    assert not isinstance(quote.metric("pct"), Unavailable)  # today's own move is known
    first = core.market.snapshot(pd.Timestamp("1994-05-10"), "close").read(
        core.market.symbols.resolve("SOX"), "pct5"
    )
    assert isinstance(first.value, Unavailable) and first.value.code == "before_history"


def test_a_live_print_compounds_with_the_shipped_sessions_before_it(
    core: Core, tmp_path: Path
) -> None:
    market = LiveMarket(core.market, BackfillCache(tmp_path))
    at = datetime(2025, 4, 9, 19, 0, tzinfo=UTC)  # 15:00 New York
    quote = market.quote(Print("^SOX", 4230.5, at, "regular", "test"), at)
    assert not isinstance(quote, Unavailable)
    shipped = core.market.snapshot(RELIEF_DAY, "close").read(
        core.market.symbols.resolve("SOX"), "pct20"
    )
    assert quote.metric("pct20") == pytest.approx(shipped.number)
    assert quote.metric("pct5") == pytest.approx(-2.0899, abs=1e-3)


# --- presets -------------------------------------------------------------------------------------


def test_the_tariff_pause_rally_fires_chip_rally_and_relief_rally_at_the_close(
    core: Core, preset_rules: CompiledRules
) -> None:
    outcomes = _outcomes(core, preset_rules, "2025-04-09")
    fired = {rule_id: o.tier.name for rule_id, o in outcomes.items() if o.fired and o.tier}
    assert fired == {"chip_rally": "critical", "relief_rally": "critical"}
    assert not _outcomes(core, preset_rules, "2025-04-09", "open")["chip_rally"].fired


def test_a_rally_with_no_sell_off_before_it_is_no_relief_rally(
    core: Core, preset_rules: CompiledRules
) -> None:
    outcomes = _outcomes(core, preset_rules, "2023-05-25")  # NVDA guidance: SOX +6.81 %
    assert outcomes["chip_rally"].fired and not outcomes["relief_rally"].fired


def test_vix_spike_fires_at_the_open_from_the_yahoo_opens(
    core: Core, preset_rules: CompiledRules
) -> None:
    opening = _outcomes(core, preset_rules, "2025-04-07", "open")["vix_spike"]
    assert opening.fired  # 45.31 → 60.13 at the bell: +32.71 %
    assert opening.inputs[0].number == pytest.approx(32.71, abs=0.01)
    assert not _outcomes(core, preset_rules, "2025-01-27", "close")["vix_spike"].fired


def test_a_preset_direction_must_be_down_or_up(core: Core) -> None:
    table = {"expr": "SOX.pct >= 5", "description_en": "x", "description_ko": "엑스"}
    assert (
        build_preset("up_day", {**table, "direction": "up"}, core.market.symbols).direction == "up"
    )
    with pytest.raises(PresetError, match="'direction'"):
        build_preset("odd", {**table, "direction": "sideways"}, core.market.symbols)


def test_replay_2025_04_09_prints_the_rally_alerts_with_a_rallys_tier_names() -> None:
    done = _bot("replay", "2025-04-09")
    assert done.returncode == 0, done.stderr
    assert "FIRED chip_rally [extreme surge]" in done.stdout
    assert "chip_rally [extreme surge] fired at the close" in done.stdout
    assert "[EXTREME SURGE] 2 alerts at the close" in done.stdout
    assert "Delivered to a channel subscribed to every preset" in done.stdout


@pytest.mark.slow
def test_run_replay_2025_04_09_delivers_the_rally_alert(tmp_path: Path) -> None:
    done = _bot("run", "--replay", "2025-04-09", "--speed", "20000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "fired: chip_rally[critical]" in done.stdout
    assert "[EXTREME SURGE]" in done.stdout and "Chip rally" in done.stdout


def _bot(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPUTNIK_CONFIG": os.devnull}
    return subprocess.run(
        [PYTHON, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


# --- tiers that read a rally as good news --------------------------------------------------------


def test_a_rallys_tiers_are_named_as_good_news_in_both_languages() -> None:
    assert tier_name("critical", "up", "en") == "extreme surge"
    assert tier_name("critical", "down", "en") == "critical"
    assert tier_name("warning", "up", "ko") == "급등"


@pytest.mark.parametrize(
    ("locale", "direction", "colour"),
    [
        ("en", "up", 0x1A9641),
        ("en", "down", 0xE74C3C),
        ("ko", "up", 0xC0392B),
        ("ko", "down", 0x1F5FBF),
    ],
)
def test_a_critical_embed_takes_the_readers_colour_for_its_direction(
    locale: str, direction: str, colour: int
) -> None:
    card = Card(title="x", severity=Severity.CRITICAL, direction=direction)  # type: ignore[arg-type]
    embed = render_card(card, locale).embeds[0]  # type: ignore[arg-type]
    assert embed.colour is not None and embed.colour.value == colour
    assert severity_colour(Severity.CRITICAL, None, locale) == 0xE74C3C  # type: ignore[arg-type]


def test_an_up_card_is_marked_as_a_surge_in_text_discord_and_slack() -> None:
    section = CardSection("Chip rally", Severity.WARNING, direction="up")
    card = Card("2 alerts", Severity.CRITICAL, sections=(section,), direction="up")
    assert "━━ [EXTREME SURGE] 2 alerts ━━" in render_text(card, "en")
    assert "── [SURGE] Chip rally" in render_text(card, "en")
    rendered = render_card(card, "ko")
    assert rendered.embeds[0].title == "[폭등] 2 alerts"
    assert rendered.embeds[1].colour is not None and rendered.embeds[1].colour.value == 0xE74C3C
    blocks, _ = render_blocks(card, "en")
    assert blocks[0]["text"]["text"].startswith(":chart_with_upwards_trend:")
    assert colour_attachments(card, "en") == [
        {"color": "#1a9641", "fallback": "[EXTREME SURGE]", "text": "[EXTREME SURGE]"}
    ]
    assert colour_attachments(Card("reply"), "en") == []


async def test_an_alert_card_of_a_rally_carries_its_direction(core: Core, tmp_path: Path) -> None:
    from bot.harness import Harness

    bot = await Harness.start(core, f"sqlite:///{tmp_path / 's.db'}")
    try:
        await bot.run("/subscribe alerts chip_rally")
        await bot.run('/subscribe alerts "VIX.pct <= -20"')
        [message] = await bot.replay_print("2025-04-09", "close")
        card = message.card
        assert card.direction == "up"
        directions = {section.title[:9]: section.direction for section in card.sections}
        assert directions == {"Chip rall": "up", "Custom ru": "down"}  # VIX −35.75 %: down
    finally:
        await bot.close()
