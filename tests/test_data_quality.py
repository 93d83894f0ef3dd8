"""Data-quality guards on the shipped history: filler opens and cent-rounded prices.

`data/history/levels.toml` `[filler_opens]` lists where a source's open may be a copy of the
previous close; such opens are unknown (reason `filler_open`). Moves between cent-rounded
prices too coarse to trust are unknown too (reason `coarse_prices`) — pct, gap and intraday.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.domain.backtest import run_backtest
from bot.domain.history import HistoryError
from bot.domain.market import read_filler_opens
from bot.domain.price_metrics import MetricTable, Unavailable, explain_unavailable
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import custom_rule
from bot.domain.snapshot import Quote
from bot.services import Core

HISTORY = Path(__file__).resolve().parent.parent / "data" / "history"
SOX_CUTOFF = pd.Timestamp("2005-01-01")
FILLER_DAY = pd.Timestamp("1998-01-20")  # open 260.8 = the 1998-01-16 close
REAL_EARLY_OPEN = pd.Timestamp("1996-01-09")  # open 193.2, previous close 194.6
DEEPSEEK_DAY = pd.Timestamp("2025-01-27")
COARSE_DAY = pd.Timestamp("2012-03-05")  # NVDA 0.38 → 0.38 → 0.37, split-adjusted cents


def table(core: Core, symbol: str) -> MetricTable:
    found = core.market.table(symbol)
    assert found is not None
    return found


def source(symbol: str) -> pd.DataFrame:
    """The shipped file as written, with the previous row's close beside each row."""
    frame = pd.read_csv(HISTORY / f"{symbol}.csv", parse_dates=["date"]).set_index("date")
    frame["prev"] = frame["close"].shift(1)
    return frame


def quote(core: Core, symbol: str, day: pd.Timestamp, stage: str) -> Quote:
    found = core.market.snapshot(day, stage).quote(symbol)  # type: ignore[arg-type]
    assert isinstance(found, Quote), found
    return found


def reason(value: object) -> str:
    assert isinstance(value, Unavailable), value
    return value.code


# ------------------------------------------------------------ filler opens


def test_levels_toml_marks_sox_spy_and_vix_filler_spans() -> None:
    spans = read_filler_opens(HISTORY / "levels.toml")
    assert set(spans) == {"^SOX", "SPY", "^VIX"}
    assert spans["^SOX"][0] == (pd.Timestamp("1994-05-05"), SOX_CUTOFF)
    assert (pd.Timestamp("2024-08-05"), pd.Timestamp("2024-08-06")) in spans["^VIX"]


def test_a_vix_open_carried_over_from_the_previous_close_is_no_gap(core: Core) -> None:
    vix = core.market.symbols.resolve("VIX")
    at_open = core.market.snapshot(pd.Timestamp("2024-08-05"), "open").read(vix, "pct")
    assert reason(at_open.value) == "filler_open"
    deepseek_open = core.market.snapshot(pd.Timestamp("2025-01-27"), "open").read(vix, "pct")
    assert deepseek_open.number == pytest.approx(26.80, abs=0.005)  # 14.85 → 18.83


def test_every_pre_cutoff_sox_open_copying_the_previous_close_is_unavailable(
    core: Core,
) -> None:
    raw = source("^SOX")
    early = raw[(raw.index < SOX_CUTOFF) & raw.index.isin(table(core, "^SOX").frame.index)]
    copies = early.index[early["open"] == early["prev"]]
    real = early.index[(early["open"] != early["prev"]) & early["prev"].notna()]
    assert len(copies) == 2095  # of 2,685 sessions with a previous close
    frame = table(core, "^SOX").frame
    flagged = frame.index[frame["filler"]]
    assert list(flagged[flagged < SOX_CUTOFF]) == list(copies)
    for day in copies:
        assert np.isnan(frame.at[day, "open"]) and np.isnan(frame.at[day, "gap"])
        assert np.isnan(frame.at[day, "intraday"])
    assert frame.loc[real, "open"].notna().all()
    assert frame.loc[real, "gap"].notna().all()


def test_a_filler_open_explains_itself_for_gap_intraday_and_the_open_print(core: Core) -> None:
    sox = table(core, "^SOX")
    for metric in ("gap", "intraday", "open"):
        why = explain_unavailable(sox, FILLER_DAY, metric)
        assert why.code == "filler_open"
        assert why.detail == (
            "^SOX: the source's open on 1998-01-20 is a copy of the previous close, not a print"
        )


def test_the_close_quote_keeps_close_high_and_low_but_no_open(core: Core) -> None:
    sox = quote(core, "^SOX", FILLER_DAY, "close")
    assert sox.open is None
    assert (sox.previous_close, sox.last, sox.low, sox.high) == (260.8, 272.9, 260.8, 273.0)
    assert round(sox.metric("pct"), 2) == 4.64  # type: ignore[arg-type]
    assert reason(sox.metric("gap")) == "filler_open"
    assert reason(sox.metric("intraday")) == "filler_open"


def test_the_open_stage_shows_no_price_and_no_move_for_a_filler_open(core: Core) -> None:
    sox = quote(core, "^SOX", FILLER_DAY, "open")
    for metric in ("last", "pct", "gap", "intraday", "z"):
        assert reason(sox.metric(metric)) == "filler_open", metric
    assert isinstance(sox.metric("vol20"), float)


def test_replay_open_stage_reports_sox_pct_unavailable_with_the_filler_reason(
    core: Core,
) -> None:
    rules = CompiledRules([core.presets["chip_crash"]])
    outcome = rules.evaluate(core.market.snapshot(FILLER_DAY, "open"))[0]
    assert outcome.truth is None and not outcome.fired
    assert "copy of the previous close, not a print" in outcome.why_not()


def test_a_real_pre_cutoff_open_is_kept(core: Core) -> None:
    sox = quote(core, "^SOX", REAL_EARLY_OPEN, "close")
    assert (sox.previous_close, sox.open, sox.last) == (194.6, 193.2, 179.6)
    assert round(sox.metric("gap"), 2) == -0.72  # type: ignore[arg-type]
    assert round(sox.metric("intraday"), 2) == -7.04  # type: ignore[arg-type]
    at_open = quote(core, "^SOX", REAL_EARLY_OPEN, "open")
    assert at_open.last == 193.2 and round(at_open.metric("pct"), 2) == -0.72  # type: ignore[arg-type]


def test_an_open_equal_to_the_previous_close_outside_the_spans_is_kept(core: Core) -> None:
    day = pd.Timestamp("2019-08-13")  # ^SOX open 1447.0 = previous close, a real print
    sox = quote(core, "^SOX", day, "close")
    assert sox.open == sox.previous_close == 1447.0
    assert sox.metric("gap") == 0.0
    assert round(sox.metric("intraday"), 2) == 2.95  # type: ignore[arg-type]


def test_spy_filler_copies_of_2016_2017_are_unavailable(core: Core) -> None:
    spy = quote(core, "SPY", pd.Timestamp("2016-11-07"), "close")
    assert spy.open is None
    assert reason(spy.metric("gap")) == "filler_open"
    assert round(spy.metric("pct"), 2) == 2.21  # type: ignore[arg-type]


def test_intraday_backtest_no_longer_fires_on_filler_opens(core: Core) -> None:
    rule = custom_rule("SOX.intraday <= -7", core.market.symbols)
    result = run_backtest(core.market, rule)
    raw = source("^SOX")
    early = {f.date for f in result.firings if f.date < SOX_CUTOFF}
    # Before the fix 30 sessions fired before 2005, on the close-to-close move; the ones
    # left have a real open that differs from the previous close.
    assert {d.date().isoformat() for d in early} == {"1996-01-09", "2000-05-23", "2000-10-17"}
    for day in early:
        assert raw.at[day, "open"] != raw.at[day, "prev"]
    assert "2020-03-16" in {f.date.date().isoformat() for f in result.firings}
    assert result.unknown_sessions >= 2095


# ------------------------------------------------------------ cent-rounded prices


@pytest.mark.parametrize("metric", ["pct", "gap", "intraday"])
def test_cent_rounded_nvda_moves_are_unavailable(core: Core, metric: str) -> None:
    nvda = quote(core, "NVDA", COARSE_DAY, "close")
    assert (nvda.previous_close, nvda.open, nvda.last) == (0.38, 0.38, 0.37)
    assert reason(nvda.metric(metric)) == "coarse_prices"
    assert explain_unavailable(table(core, "NVDA"), COARSE_DAY, metric).code == "coarse_prices"


def test_the_open_stage_of_a_cent_rounded_session_is_unavailable_too(core: Core) -> None:
    nvda = quote(core, "NVDA", COARSE_DAY, "open")
    assert reason(nvda.metric("pct")) == "coarse_prices"
    assert reason(nvda.metric("gap")) == "coarse_prices"


def test_gap_and_intraday_share_the_pct_guard_on_nvda(core: Core) -> None:
    frame = table(core, "NVDA").frame
    assert frame["coarse_gap"].sum() > 1500 and frame["coarse_intraday"].sum() > 1500
    later = frame.loc["2018":, ["coarse", "coarse_gap", "coarse_intraday"]]
    assert not later.to_numpy().any()


# ------------------------------------------------------------ the reference day


def test_deepseek_day_gaps_and_moves_are_unchanged(core: Core) -> None:
    sox = quote(core, "^SOX", DEEPSEEK_DAY, "close")
    nvda = quote(core, "NVDA", DEEPSEEK_DAY, "close")
    assert round(sox.metric("gap"), 2) == -6.25  # type: ignore[arg-type]
    assert round(nvda.metric("gap"), 2) == -12.49  # type: ignore[arg-type]
    assert round(sox.metric("pct"), 2) == -9.15  # type: ignore[arg-type]
    assert round(nvda.metric("intraday"), 2) == -5.11  # type: ignore[arg-type]
    assert round(quote(core, "^SOX", DEEPSEEK_DAY, "open").metric("pct"), 2) == -6.25  # type: ignore[arg-type]


# ------------------------------------------------------------ levels.toml


def test_filler_opens_accept_a_cutoff_date_or_spans(tmp_path: Path) -> None:
    path = tmp_path / "levels.toml"
    path.write_text(
        '[filler_opens]\n"A" = "2005-01-01"\n"B" = [["2006-04-01", "2006-10-01"]]\n',
        encoding="utf-8",
    )
    spans = read_filler_opens(path)
    assert spans["A"] == ((pd.Timestamp.min, pd.Timestamp("2005-01-01")),)
    assert spans["B"] == ((pd.Timestamp("2006-04-01"), pd.Timestamp("2006-10-01")),)
    assert read_filler_opens(tmp_path / "absent.toml") == {}


@pytest.mark.parametrize(
    "value", ['"2005-13-01"', "true", '[["2006-04-01"]]', '[["2006-10-01", "2006-04-01"]]']
)
def test_a_malformed_filler_entry_is_rejected(tmp_path: Path, value: str) -> None:
    path = tmp_path / "levels.toml"
    path.write_text(f'[filler_opens]\n"A" = {value}\n', encoding="utf-8")
    with pytest.raises(HistoryError):
        read_filler_opens(path)
