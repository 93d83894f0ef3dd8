"""Compiled rules and presets evaluated on the real shipped history."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.backtest import run_backtest
from bot.domain.market import MarketData
from bot.domain.rules.compiler import SlotTable, compile_scalar, evaluate_vector
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import PresetError, build_preset, custom_rule
from bot.services import Core

DEEPSEEK_DAY = pd.Timestamp("2025-01-27")
NEXT_DAY = pd.Timestamp("2025-01-28")


def outcomes_at(core: Core, rules: CompiledRules, day: pd.Timestamp) -> dict[str, object]:
    return {o.rule.id: o for o in rules.evaluate(core.market.snapshot(day, "close"))}


def test_deepseek_rule_fires_when_sox_falls_and_dow_rises(
    core: Core, preset_rules: CompiledRules
) -> None:
    outcome = outcomes_at(core, preset_rules, DEEPSEEK_DAY)["deepseek"]
    assert outcome.fired  # type: ignore[attr-defined]
    assert outcome.tier.name == "critical"  # type: ignore[attr-defined]
    sox, dow = outcome.inputs  # type: ignore[attr-defined]
    assert round(sox.number, 2) == -9.15
    assert round(dow.number, 2) == 0.65  # ^DJI itself (DIA, the proxy, read +0.68 %)
    assert dow.label == "DJI"


def test_deepseek_rule_does_not_fire_on_the_rebound_day(
    core: Core, preset_rules: CompiledRules
) -> None:
    outcome = outcomes_at(core, preset_rules, NEXT_DAY)["deepseek"]
    assert outcome.truth is False  # type: ignore[attr-defined]


def _deepseek_on(tmp_path: Path, core: Core, sox_close: float, dow_close: float) -> bool:
    """Whether deepseek fires on a session where SOX closes at `sox_close` and DJI's proxy
    (DIA) at `dow_close`, both from 100 the session before."""
    days = pd.bdate_range("2024-06-03", "2024-07-12")
    for name, last in (("^SOX.csv", sox_close), ("DIA.csv", dow_close)):
        rows = [f"{d.date()},,,,100,," for d in days[:-1]] + [f"{days[-1].date()},,,,{last},,"]
        (tmp_path / name).write_text(
            "date,open,high,low,close,adj_close,volume\n" + "\n".join(rows) + "\n"
        )
    market, _ = MarketData.load(tmp_path, core.settings.alias_table())
    rules = CompiledRules([core.presets["deepseek"]])
    [outcome] = rules.evaluate(market.snapshot(days[-1], "close"))
    return bool(outcome.fired)


@pytest.mark.parametrize(
    ("sox", "dow", "fires"),
    [(91.0, 100.5, True), (91.0, 100.0, False), (91.0, 99.0, False), (96.0, 100.5, False)],
    ids=["dow-up", "dow-flat", "dow-down", "sox-only-4pct"],
)
def test_deepseek_fires_only_when_the_dow_is_strictly_up_while_sox_falls_5_percent(
    tmp_path: Path, core: Core, sox: float, dow: float, fires: bool
) -> None:
    assert _deepseek_on(tmp_path, core, sox, dow) is fires


def test_deepseek_never_fired_in_the_history_on_a_day_the_dow_fell(core: Core) -> None:
    result = run_backtest(
        core.market,
        core.presets["deepseek"],
        pd.Timestamp("2000-01-01"),
        pd.Timestamp("2025-12-31"),
    )
    days = {f.date.normalize() for f in result.firings}
    assert pd.Timestamp("2025-01-27") in days
    for crash in ("2020-03-12", "2020-03-16", "2022-09-13", "2025-04-03"):  # SOX and Dow fell
        assert pd.Timestamp(crash) not in days


def test_every_sell_off_preset_fires_on_the_deepseek_day_with_its_tier(
    core: Core, preset_rules: CompiledRules
) -> None:
    outcomes = outcomes_at(core, preset_rules, DEEPSEEK_DAY)
    tiers = {rule_id: o.tier.name for rule_id, o in outcomes.items() if o.fired}  # type: ignore[attr-defined]
    assert tiers == {
        "deepseek": "critical",  # SOX −9.15 % ≥ 8
        "chip_crash": "warning",  # 7 ≤ 9.15 < 10
        "nvda_decoupling": "critical",  # NVDA −16.97 − (−1.46) = −15.51
        "ai_power_unwind": "critical",  # VST −28.27 %
    }


def test_no_preset_fires_on_a_quiet_session(core: Core, preset_rules: CompiledRules) -> None:
    fired = [
        o
        for o in preset_rules.evaluate(core.market.snapshot(pd.Timestamp("2024-06-03"), "close"))
        if o.fired
    ]
    assert fired == []


def test_chip_crash_backtest_finds_the_known_crashes(core: Core) -> None:
    result = run_backtest(
        core.market,
        core.presets["chip_crash"],
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2025-12-31"),
    )
    dates = {f.date.date().isoformat() for f in result.firings}
    assert {"2020-03-16", "2024-07-17", "2025-01-27", "2025-04-03", "2025-04-04"} <= dates


def test_nvda_decoupling_uses_the_sp500_index_where_it_has_data_and_spy_before(core: Core) -> None:
    result = run_backtest(core.market, core.presets["nvda_decoupling"])
    by_day = {f.date: f for f in result.firings}
    assert "SPX" not in by_day[DEEPSEEK_DAY].proxies
    early = [f for f in result.firings if f.date.year < 2023]
    assert early and all(f.proxies.get("SPX") == "SPY" for f in early)


def test_ai_power_unwind_does_not_fire_on_the_rebound_day(
    core: Core, preset_rules: CompiledRules
) -> None:
    assert outcomes_at(core, preset_rules, NEXT_DAY)["ai_power_unwind"].truth is False  # type: ignore[attr-defined]


def test_a_rule_whose_inputs_are_missing_does_not_fire_and_says_why(core: Core) -> None:
    rule = custom_rule("HYNIX.pct <= -3", core.market.symbols)
    outcome = CompiledRules([rule]).evaluate(core.market.snapshot(DEEPSEEK_DAY, "close"))[0]
    assert outcome.truth is None and not outcome.fired
    assert "000660.KS last traded 2025-01-24" in outcome.why_not()


def test_kleene_or_fires_when_one_side_is_true_and_the_other_unknown(core: Core) -> None:
    rule = custom_rule("HYNIX.pct <= -3 or SOX.pct <= -5", core.market.symbols)
    outcome = CompiledRules([rule]).evaluate(core.market.snapshot(DEEPSEEK_DAY, "close"))[0]
    assert outcome.fired


def test_division_by_zero_is_unknown_not_an_exception(core: Core) -> None:
    rule = custom_rule("SOX.pct / (NVDA.pct - NVDA.pct) > 1", core.market.symbols)
    outcome = CompiledRules([rule]).evaluate(core.market.snapshot(DEEPSEEK_DAY, "close"))[0]
    assert outcome.truth is None


def test_preset_with_a_wrong_field_names_the_preset_and_the_field(core: Core) -> None:
    with pytest.raises(PresetError, match="preset 'bad': tier 'loud'"):
        build_preset(
            "bad",
            {
                "expr": "SOX.pct < -1",
                "tiers": {"loud": 1},
                "description_en": "x",
                "description_ko": "x",
            },
            core.market.symbols,
        )
    with pytest.raises(PresetError, match="field 'description_ko'"):
        build_preset("bad", {"expr": "SOX.pct < -1", "description_en": "x"}, core.market.symbols)
    with pytest.raises(PresetError, match="unknown symbol 'SOXX2'"):
        build_preset(
            "bad",
            {"expr": "SOXX2.pct < -1", "description_en": "x", "description_ko": "x"},
            core.market.symbols,
        )


# ------------------------------------------------------------ scalar and vector agree

_RULES = [
    "SOX.pct <= -5 and DJI.pct > 0",
    "(VST.pct <= -10 or CEG.pct <= -10) and SPX.pct > -2",
    "not (NVDA.pct > 0 or SOX.pct > 0)",
    "abs(SOX.pct - NVDA.pct) >= 3",
    "max(NVDA.pct, SOX.pct) / 2 < -1 or NVDA.z <= -4",
]
_VALUES = st.one_of(st.none(), st.floats(min_value=-50, max_value=50, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_RULES), st.lists(_VALUES, min_size=6, max_size=6))
def test_scalar_and_vector_back_ends_agree_including_missing_inputs(
    core: Core, text: str, values: list[float | None]
) -> None:
    rule = custom_rule(text, core.market.symbols)
    table = SlotTable()
    scalar = compile_scalar(rule.tree, table)
    slot_values = values[: len(table.slots)]
    columns = {
        (slot.instrument.key, slot.metric): np.array([math.nan if v is None else v])
        for slot, v in zip(table.slots, slot_values, strict=True)
    }
    assert len(metric_refs(rule.tree)) >= len(table.slots)
    vector = evaluate_vector(rule.tree, columns)
    expected = scalar(slot_values)
    known = bool(np.asarray(vector.known).reshape(-1)[0])
    value = bool(np.asarray(vector.value).reshape(-1)[0])
    assert (None if not known else value) == expected


def test_rules_of_the_same_shape_share_one_code_object(core: Core) -> None:
    table = SlotTable()
    first = compile_scalar(
        custom_rule("SOX.pct <= -5 and DJI.pct > 0", core.market.symbols).tree, table
    )
    second = compile_scalar(
        custom_rule("NVDA.pct <= -7 and SPX.pct > 1", core.market.symbols).tree, table
    )
    assert first.__code__ is second.__code__  # type: ignore[attr-defined]
    assert first([-9.15, 0.68, None, None]) is True
    assert second([-9.15, 0.68, -16.97, -1.46]) is False
