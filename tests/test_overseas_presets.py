"""The overseas presets: each reads one market, and its figures as a predictor of New York
are computed from the shipped history and match bench/README.md (issue 18 item 3)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.bench_presets import CRASH, FAMILIES, HIT, TARGET, grid, pick, readme_lines, tiers_for
from bot.domain.backtest import instrument_market
from bot.domain.markets import markets
from bot.domain.predictor import Judgement, judge
from bot.domain.rules.parser import metric_refs
from bot.services import Core
from tests.conftest import PROJECT_ROOT

NAMES = [family.name for family in FAMILIES]
README = (PROJECT_ROOT / "bench" / "README.md").read_text(encoding="utf-8")
DEEPSEEK_DAY = pd.Timestamp("2025-01-27")


def _judge(core: Core, name: str) -> Judgement:
    target = core.market.symbols.resolve(TARGET)
    return judge(core.market, core.presets[name], target, HIT, CRASH)


@pytest.mark.parametrize("name", NAMES)
def test_each_overseas_preset_reads_one_market_other_than_new_york(core: Core, name: str) -> None:
    rule = core.presets[name]
    venues = {instrument_market(core.market, ref.instrument) for ref in metric_refs(rule.tree)}
    assert len(venues) == 1
    assert venues != {markets().default}
    assert rule.description("ko") and rule.description("en")
    assert rule.direction == "down"


@pytest.mark.parametrize("family", FAMILIES, ids=NAMES)
def test_each_shipped_threshold_is_the_one_the_stated_rule_picks(core: Core, family) -> None:  # type: ignore[no-untyped-def]
    chosen, _ = pick(grid(core.market, family))
    shipped = core.presets[family.name]
    assert shipped.text == family.text(chosen.x, chosen.y)
    assert {t.name: t.threshold for t in shipped.tiers} == tiers_for(family.kind, chosen.x)


@pytest.mark.parametrize("name", NAMES)
def test_each_presets_documented_figures_are_the_ones_computed_from_the_history(
    core: Core, name: str
) -> None:
    row, fired = readme_lines(name, _judge(core, name))
    assert row in README
    assert fired in README


def test_tokyo_deepseek_warned_of_the_deepseek_day_at_tokyos_close(core: Core) -> None:
    judged = _judge(core, "tokyo_deepseek")
    lead = next(f for f in judged.firings if f.session == DEEPSEEK_DAY)
    assert lead.led_into == DEEPSEEK_DAY
    assert lead.target is not None and round(lead.target, 2) == -9.15
    assert DEEPSEEK_DAY in judged.warned


def test_precision_and_recall_count_what_the_definitions_say(core: Core) -> None:
    judged = _judge(core, "europe_chip_crash")
    hits = [f for f in judged.firings if f.target is not None and f.target <= HIT]
    assert judged.precision == len(hits) / len(judged.firings)
    sox = core.market.column(
        core.market.symbols.resolve(TARGET), "pct", pd.DatetimeIndex(judged.crashes)
    ).values
    assert (sox <= CRASH).all()
    assert judged.recall == len(judged.warned) / len(judged.crashes)


def test_seoul_could_not_warn_of_the_deepseek_day_it_was_closed_for_seollal(core: Core) -> None:
    judged = _judge(core, "seoul_deepseek")
    assert DEEPSEEK_DAY in judged.crashes
    assert DEEPSEEK_DAY not in judged.warned


def test_seoul_chip_crash_is_judged_at_seouls_open(core: Core) -> None:
    assert _judge(core, "seoul_chip_crash").at == "open"


def test_the_futures_are_judged_against_new_yorks_next_session(core: Core) -> None:
    judged = _judge(core, "futures_crash")
    assert judged.firings
    assert all(f.led_into is not None and f.led_into > f.session for f in judged.firings)
