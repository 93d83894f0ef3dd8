"""How early Sputnik warns (issue 19 item 4): the bench's row for a session comes from the
real round-the-clock walk (`load_trading_day` + `walk_day`, as `python -m bot replay`), and
bench/README.md shows the row the bench computes. No test sleeps: each day is walked on its
own manual clock, print by print."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bench.bench_how_early import (
    EarlyDay,
    figure,
    how_early_day,
    summary_lines,
    table_row,
    us_only,
    window_sessions,
)
from bot.services import Core

README = (Path(__file__).resolve().parents[1] / "bench" / "README.md").read_text(encoding="utf-8")
DEEPSEEK_DAY = pd.Timestamp("2025-01-27")
QUIET_DAY = pd.Timestamp("2024-07-02")


@pytest.fixture(scope="module")
def days(core: Core) -> dict[pd.Timestamp, EarlyDay]:
    rules = list(core.presets.values())
    return {
        session: asyncio.run(how_early_day(core, session, rules))
        for session in (DEEPSEEK_DAY, QUIET_DAY)
    }


def test_the_deepseek_day_is_first_warned_from_tokyo_eight_hours_before_the_bell(
    days: dict[pd.Timestamp, EarlyDay],
) -> None:
    row = days[DEEPSEEK_DAY]
    assert row.first is not None
    assert row.first.market.name == "tokyo" and row.first.outcome.rule.id == "tokyo_deepseek"
    assert row.first.at == datetime(2025, 1, 27, 6, 30, tzinfo=UTC)  # 01:30 New York
    assert figure(row.first.outcome) == "ADVANTEST −8.61 %"
    assert row.first.lead == timedelta(hours=8)
    assert row.sox == pytest.approx(-9.15, abs=0.005)


def test_the_us_only_presets_first_alert_that_day_is_chip_crash_in_the_pre_market_on_smh(
    days: dict[pd.Timestamp, EarlyDay],
) -> None:
    us = days[DEEPSEEK_DAY].us_first
    assert us is not None
    assert us.outcome.rule.id == "chip_crash" and us.kind == "pre"
    assert us.at == datetime(2025, 1, 27, 9, 40, tzinfo=UTC)  # the 04:35 bar's end
    assert figure(us.outcome) == "SOX (proxy SMH) −5.87 %"
    assert us.lead == timedelta(hours=4, minutes=50)


def test_the_readme_table_holds_the_row_the_bench_computes_for_the_deepseek_day(
    days: dict[pd.Timestamp, EarlyDay],
) -> None:
    row = table_row(days[DEEPSEEK_DAY])
    assert row == (
        "| 2025-01-27 | −9.15 % | TSE close: `tokyo_deepseek` ADVANTEST −8.61 % | 01:30 "
        "| 8 h 00 m before the open | NYSE pre-market: `chip_crash` SOX (proxy SMH) −5.87 % "
        "| 04:40 | 4 h 50 m before the open |"
    )
    assert row in README


def test_a_day_with_no_alert_before_the_open_has_no_first_warning(
    days: dict[pd.Timestamp, EarlyDay],
) -> None:
    quiet = days[QUIET_DAY]
    assert quiet.first is None
    lines = summary_lines([days[DEEPSEEK_DAY], quiet])
    assert "sessions with an alert before the NYSE open: 1 (first from TSE 1)" in lines
    assert "sessions with SOX ≤ −5 %: 1; warned before the open: 1/1" in lines


def test_us_only_presets_read_only_new_york_symbols(core: Core) -> None:
    assert us_only(core.presets["deepseek"]) and us_only(core.presets["chip_crash"])
    assert not us_only(core.presets["tokyo_deepseek"])
    assert not us_only(core.presets["futures_crash"])


def test_the_window_is_every_nyse_session_of_the_overseas_histories() -> None:
    sessions = window_sessions()
    assert sessions[0] == pd.Timestamp("2024-07-01")
    assert sessions[-1] == pd.Timestamp("2025-04-30")
    assert DEEPSEEK_DAY in sessions and pd.Timestamp("2025-01-20") not in sessions  # MLK Day
