"""Cards a trader can trust: views in context, sources named, severities that match the move."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bot.chat.text import render_text
from bot.domain.analysis import card_tier, own_move_tier
from bot.domain.cards import Card, Severity
from bot.domain.formatting import decimals_near, format_move
from bot.domain.library import ViewLibrary
from bot.domain.rules.evaluate import CompiledRules
from bot.harness import Harness
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
    return {field.name: field.value for field in card.fields + card.closing}


# --- item 1: views in context ----------------------------------------------------------------


@pytest.fixture
def deepseek_only(harness: Harness) -> Harness:
    """The harness with only the DeepSeek episode on file (whatever else data/views holds)."""
    library = harness.services.views
    episode = library.episode("deepseek")
    assert episode is not None
    harness.services.views = ViewLibrary(library.of_episode(episode), [episode])
    return harness


async def test_covid_crash_card_says_no_past_episode_looks_like_it(deepseek_only: Harness) -> None:
    card = await deepseek_only.run("/shock NVDA 2020-03-16")
    assert card.text == "No past episode looks like this move: none on file began before it."
    assert "DeepSeek" not in card.text and "KCIF" not in card.text


@pytest.mark.parametrize("command", ['/shock "^GSPC" 2024-08-05', "/shock SPY 2025-04-04"])
async def test_other_market_crashes_get_no_deepseek_views(
    deepseek_only: Harness, command: str
) -> None:
    card = await deepseek_only.run(command)
    assert card.text.startswith("No past episode looks like this move")
    assert "said about" not in card.text and "KCIF" not in card.text


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


# --- item 2: sources named everywhere, proxies used consistently ------------------------------


async def test_a_gap_the_proxy_supplied_names_the_proxy(harness: Harness) -> None:
    card = await harness.run("/shock SPX 2025-01-10")  # ^GSPC: a close only that day; SPY has
    fields = fields_of(card)
    assert fields["Gap at open"] == "−0.61 % (proxy SPY)"  # SPY 589.49 → open 585.88
    comparison = fields["Next to the indices (proxies named)"].splitlines()
    assert comparison[0].startswith("SPX −1.54 % · gap −0.61 % (proxy SPY)")


async def test_shock_on_an_index_outside_its_own_file_uses_its_named_proxy(
    harness: Harness,
) -> None:
    card = await harness.run("/shock SPX 2020-03-16")
    assert card.title.startswith("SPX (proxy SPY) shock")
    assert fields_of(card)["Move"] == "−10.94 %"
    assert card.chart_png is not None


async def test_sources_are_the_series_actually_read_once_each(harness: Harness) -> None:
    card = await harness.run("/shock SOX 1994-05-05")
    assert card.footer.source == "Shipped price history (^DJI, ^SOX)"  # the Dow: from 1992
    card = await harness.run("/rules test deepseek")
    assert card.footer.source == "Shipped price history (^SOX, ^DJI, DIA)"  # DIA after 2026-03
    card = await harness.run("/quote COMP NDX")
    assert card.footer.source == "Shipped price history (QQQ)"


async def test_quotes_of_different_sessions_each_show_their_own_date(harness: Harness) -> None:
    card = await harness.run("/quote")
    lines = {line.split(" ")[0]: line for line in card.fields[0].value.splitlines()}  # NYSE
    assert "DJI (proxy DIA)" in lines["DJI"] and "Fri 25 Sep 2026" in lines["DJI"]
    assert "Fri 21 Aug 2026" in lines["SOX"]
    assert card.footer.as_of is None  # no single as-of for quotes of different sessions


# --- item 4: backtests show what the rule tested ------------------------------------------------


async def test_rules_test_lists_the_metric_the_rule_read_not_the_move(harness: Harness) -> None:
    card = await harness.run('/rules test "NVDA.gap <= -10"')
    assert "• Mon 5 Aug 2024: NVDA.gap −14.18 %" in card.fields[0].value
    assert "Evaluated at each session's close." in card.text


async def test_a_rule_that_never_fired_says_no_session_matched(harness: Harness) -> None:
    card = await harness.run('/rules test "NVDA.pct <= -90"')
    assert card.text.startswith("No session matched")
    assert "median" not in card.text


def test_the_backtest_table_and_json_carry_each_input_as_evaluated(core: Core) -> None:
    from bot.cli.backtest import firings_json, render_backtest
    from bot.domain.backtest import run_backtest
    from bot.domain.rules.presets import custom_rule

    rule = custom_rule("NVDA.z <= -4", core.market.symbols)
    result = run_backtest(core.market, rule)
    lines = render_backtest(result)
    assert "evaluated at each session's close" in lines[1]
    header = next(line for line in lines if line.startswith("date"))
    assert "NVDA.z" in header
    [first, *_] = firings_json(result)
    assert first["inputs"]["NVDA.z"] <= -4


def test_a_backtest_at_the_open_finds_the_opening_crash_the_close_does_not(core: Core) -> None:
    from bot.domain.backtest import run_backtest

    rule = core.presets["chip_crash"]
    day = pd.Timestamp("2024-08-05")
    at_close = run_backtest(core.market, rule, day, day)
    at_open = run_backtest(core.market, rule, day, day, at="open")
    assert at_close.firings == ()
    [firing] = at_open.firings
    assert firing.inputs["SOX.pct"] == pytest.approx(-6.02, abs=0.01)  # the gap


# --- item 5: near-threshold figures shown honestly ---------------------------------------------


def test_a_figure_next_to_its_threshold_has_the_digits_to_show_its_side() -> None:
    assert decimals_near(0.0019, [0.0]) == 3
    assert format_move(0.0019, "en", thresholds=[0.0]) == "+0.002 %"
    assert format_move(-4.996, "en", thresholds=[-5.0]) == "−4.996 %"
    assert format_move(-9.15, "en", thresholds=[-5.0]) == "−9.15 %"
    assert format_move(0.0019, "en") == "0.00 %", "no threshold to show its side of: no sign"
    assert format_move(-0.0019, "en", thresholds=[0.0]) == "−0.002 %"


def test_the_deepseek_backtest_shows_the_dows_tiny_rise_above_zero(core: Core) -> None:
    from bot.cli.backtest import render_backtest
    from bot.domain.backtest import run_backtest

    day = pd.Timestamp("2026-07-01")
    lines = render_backtest(run_backtest(core.market, core.presets["deepseek"], day, day))
    [row] = [line for line in lines if line.startswith("2026-07-01")]
    assert "+0.002 %" in row and "+0.00 %" not in row


# --- item 7: charts agree with their cards ---------------------------------------------------


async def test_the_two_languages_charts_of_one_card_have_different_files(
    harness: Harness,
) -> None:
    english = await harness.run("/shock NVDA 2015-05-08")
    await harness.run("/lang ko")
    korean = await harness.run("/shock NVDA 2015-05-08")
    assert english.chart_name != korean.chart_name
    assert english.chart_name.endswith("-en.png") and korean.chart_name.endswith("-ko.png")


def test_a_chart_leaves_out_a_series_that_has_no_data_in_its_window(core: Core) -> None:
    from bot.domain.analysis import chart_series

    market = core.market
    instruments = [market.symbols.resolve(name) for name in ("SOX", "SOX", "NVDA")][1:]
    series, notes = chart_series(market, instruments, pd.Timestamp("1994-05-05"))
    assert list(series) == ["SOX"] and notes == {}  # NVDA's file starts in 2010


def _replay_lines(core: Core, day: str) -> list[str]:
    from bot.cli.replay import render_replay
    from bot.domain.replay import history_sessions, replay_session
    from bot.domain.rules.evaluate import CompiledRules

    sessions = history_sessions(core.market)
    rules = CompiledRules(list(core.presets.values()))
    replay = replay_session(core.market, rules, pd.Timestamp(day), core.watchlist(), sessions)
    return render_replay(replay)


def test_replay_says_a_rule_fired_only_at_the_open_and_no_longer_held_at_the_close(
    core: Core,
) -> None:
    lines = _replay_lines(core, "2024-08-05")
    [chip] = [line for line in lines if line.startswith("  chip_crash")]
    assert chip.startswith("  chip_crash [notice] fired at the open (09:30 ET: SOX.pct −6.02 %)")
    assert chip.endswith("no longer held at the close (SOX.pct −1.92 %)")
    assert any(line.startswith("  nvda_decoupling [warning] fired at the open") for line in lines)


def test_replay_of_the_deepseek_day_tells_open_firings_from_close_firings(core: Core) -> None:
    lines = _replay_lines(core, "2025-01-27")
    assert any(line.startswith("  deepseek [critical] fired at the close") for line in lines)
    [chip] = [line for line in lines if line.startswith("  chip_crash")]
    assert "still held at the close [warning]" in chip
    [spx] = [line for line in lines if line.startswith("  SPX [^GSPC]")]
    assert "−2.17 %" in spx and not spx.endswith("gap from SPY")  # ^GSPC's own open


# --- item 6: rules refused, replaced, and typed as the bot prints them --------------------------


@pytest.mark.parametrize(
    "command",
    [
        '/subscribe alerts "NVDA.pct/0 > 1"',
        '/rules add zero "NVDA.pct / (SOX.pct - SOX.pct) > 1"',
        '/rules test "abs(NVDA.pct)/0 < 1"',
    ],
)
async def test_a_rule_undecidable_on_its_face_is_refused(harness: Harness, command: str) -> None:
    card = await harness.run(command)
    assert card.severity is Severity.ERROR
    assert "can never be decided" in card.text
    assert await harness.services.store.list_subscriptions(harness.channel) == []


def test_the_cli_refuses_an_undecidable_rule_with_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    assert main(["backtest", "NVDA.pct/0 > 1"]) == 2
    assert "can never be decided" in capsys.readouterr().err


async def test_a_rule_copied_from_the_bots_own_output_is_accepted(harness: Harness) -> None:
    card = await harness.run('/rules test "SOX.pct ≤ −5 and DJI.pct > 0"')
    assert "Fired on 22 of" in card.text


async def test_resubscribing_and_re_adding_say_what_they_replaced(harness: Harness) -> None:
    await harness.run("/subscribe alerts deepseek")
    card = await harness.run("/subscribe alerts deepseek once")
    assert "replaces the channel's earlier subscription (was: policy once per session)" in card.text
    await harness.run('/rules add mine "NVDA.pct < -5"')
    card = await harness.run('/rules add mine "NVDA.pct < -6"')
    assert "(was: rule NVDA.pct < -5)" in card.text


async def test_a_cooldown_over_the_cap_is_refused_naming_the_cap(harness: Harness) -> None:
    card = await harness.run("/subscribe alerts deepseek cooldown=9999d")
    assert card.severity is Severity.ERROR and "at most 365 days" in card.text


async def test_a_rule_on_a_symbol_without_history_is_accepted_with_a_warning(
    tmp_path: Path,
) -> None:
    import os
    import shutil

    from bot.app import build_core
    from bot.settings import load_settings

    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(settings.history_dir / "^SOX.csv", data / "^SOX.csv")
    small = build_core(settings, data)
    bot = await Harness.start(small, f"sqlite:///{tmp_path / 'sputnik.db'}")
    try:
        card = await bot.run('/subscribe alerts "NVDA.pct <= -5"')
        tested = await bot.run('/rules test "NVDA.pct <= -5"')
    finally:
        await bot.close()
    assert card.severity is Severity.INFO
    assert "no price history for NVDA" in card.text
    assert tested.severity is Severity.INFO and "no price history for NVDA" in tested.text


# --- item 8: Korean names and Korean polish --------------------------------------------------


async def test_a_korean_symbol_with_a_short_history_says_it_has_too_few_to_compare(
    harness: Harness,
) -> None:
    card = await harness.run("/shock SAMSUNG 2025-01-31")  # its file starts 2025-01-22
    similar = fields_of(card)["Most similar past sessions, and what followed"]
    assert similar.startswith("Too few earlier sessions to compare")
    assert "−2.66 %" not in similar


async def test_similar_sessions_move_the_subject_like_the_shock_did(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    similar = fields_of(card)["Most similar past sessions, and what followed"]
    moves = [
        float(line.split("NVDA ")[1].split(" %")[0].replace("−", "-"))
        for line in similar.splitlines()
        if line.startswith("•")
    ]
    assert len(moves) == 3 and all(move <= -16.97 / 2 for move in moves)


async def test_korean_cards_name_korean_companies_in_korean(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/shock HYNIX 2025-01-31")
    assert card.title.startswith("SK하이닉스 충격 분석")
    card = await harness.run("/quote SAMSUNG")
    assert card.fields[0].name == "삼성전자"


async def test_korean_help_shows_korean_parameter_names(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/help shock")
    assert "• 종목: " in card.fields[0].value and "SYMBOL" not in card.fields[0].value


async def test_korean_views_show_korean_speakers_and_stances(deepseek_only: Harness) -> None:
    harness = deepseek_only
    await harness.run("/lang ko")
    card = await harness.run("/views rates")
    names = [field.name for field in card.fields]
    assert names[0].startswith("레이 달리오 · 부정적")
    assert not any("Kwon" in name or "Dalio" in name for name in names)


def test_no_korean_message_glues_a_particle_to_a_placeholder() -> None:
    from bot.domain.i18n import catalog

    for key, message in catalog().items():
        assert not re.search(r"\(를\)|\(는\)|\(가\)|\(과\)|\(으\)", message["ko"]), key


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_percentages_are_spaced_the_same_in_both_languages(locale: str) -> None:
    from bot.domain.i18n import format_pct

    assert format_pct(-9.15, locale) == "−9.15 %"  # type: ignore[arg-type]


def test_replay_shows_a_near_threshold_input_with_the_digits_to_show_its_side(
    core: Core,
) -> None:
    lines = _replay_lines(core, "2026-07-01")
    [deepseek] = [line for line in lines if line.startswith("  deepseek")]
    assert "DJI (proxy DIA).pct +0.002 %" in deepseek


def test_the_chart_legend_gets_the_cards_figures_and_none_where_the_card_has_none(
    core: Core, preset_rules: CompiledRules
) -> None:
    from bot.domain.analysis import analyse_shock
    from handlers.shock import chart_moves

    market = core.market
    nvda = market.symbols.resolve("NVDA")
    report = analyse_shock(market, preset_rules, nvda, pd.Timestamp("2015-05-08"))
    moves = chart_moves(report, "en")
    assert moves["NVDA"] is None  # cent-rounded prices: the card says n/a, so does the legend
    assert moves["DJI"] == pytest.approx(report.rows[-1].pct.number)  # ^DJI itself


async def test_korean_cards_name_proxies_in_korean_everywhere(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/shock NVDA 2025-01-27")
    everything = "\n".join(f.value for f in card.fields + card.closing)
    assert "(proxy " not in everything
    assert "SPX (SPY 대용)" in everything and "(SPY 대용)" in everything
