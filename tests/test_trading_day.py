"""The trading day round the clock: every market's real prints in time order, the intraday
bars at their ends, and the day's first warning with its lead over the NYSE open.

Driven through the live feed's own joins on a manual clock stepped print by print: no test
sleeps. Markets other than the shipped ones are defined in the test's own settings.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bot.cli.replay_timeline import lead_text, timeline_lines
from bot.domain.intraday import load_intraday
from bot.domain.markets import KOREA, US, MarketBook, market_for_symbol, markets
from bot.domain.trading_day import build_trading_day, digest_after
from bot.feeds.replay_day import DayReplay, day_extended, load_trading_day, walk_day
from bot.services import Core

DEEPSEEK_DAY = pd.Timestamp("2025-01-27")
INTRADAY = Path(__file__).resolve().parents[1] / "data" / "intraday"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def deepseek_day(core: Core) -> DayReplay:
    day = load_trading_day(core, DEEPSEEK_DAY)
    return asyncio.run(walk_day(core, day, list(core.presets.values())))


def zone_of(symbol: str) -> str:
    return market_for_symbol(symbol).zone


def test_an_intraday_bar_prints_its_close_at_its_end_on_the_utc_clock_its_label_hides() -> None:
    book = load_intraday(INTRADAY, zone_of)
    # Labelled "2025-01-27 09:35:00-0500" but the clock is UTC: 04:35 New York, bar start.
    first = book.between("SMH", utc("2025-01-27T05:00"), utc("2025-01-27T12:00"))[0]
    assert first.start == utc("2025-01-27T09:35") and first.end == utc("2025-01-27T09:40")
    assert first.close == 246.31


def test_forward_filled_and_stray_bars_are_dropped_with_a_warning() -> None:
    book = load_intraday(INTRADAY, zone_of)
    qqq = book.between("QQQ", utc("2025-01-27T12:50"), utc("2025-01-27T13:10"))
    assert [bar.start for bar in qqq] == [
        utc("2025-01-27T12:50"),
        utc("2025-01-27T12:55"),
        utc("2025-01-27T13:05"),  # 13:00 UTC (08:00 ET): low 502.73, no trade near it
    ]
    warnings = book.warnings
    assert any("QQQ 2025-01-27 08:00 EST: 1 stray bar" in w and "502.73" in w for w in warnings)
    assert any("SMH 2025-01-24 04:35–08:10 EST: 30 forward-filled" in w for w in book.warnings)
    smh = book.bars["SMH"]
    assert all(not (bar.volume == 0 and bar.high == bar.low) for bar in smh)


def test_a_pre_market_move_is_measured_against_the_unadjusted_close_of_the_bars_basis() -> None:
    book = load_intraday(INTRADAY, zone_of)

    def adjusted(symbol: str, session: pd.Timestamp) -> float:
        return 260.72  # what an adjusted daily file says: never used for SMH's bars

    friday = pd.Timestamp("2025-01-24")
    assert book.basis_close("SMH", friday, adjusted) == 261.67  # iex-ohlcv, unadjusted
    assert book.basis_close("QQQ", friday, lambda s, d: 529.63) == 529.63  # history's close


def test_the_day_runs_from_the_previous_nyse_close_to_the_seoul_digest(
    deepseek_day: DayReplay,
) -> None:
    day = deepseek_day.day
    assert day.start == utc("2025-01-24T21:00")  # Friday's close, 16:00 New York
    assert day.end == utc("2025-01-27T21:30")  # 06:30 Seoul on Tuesday
    assert day.opens == utc("2025-01-27T14:30")
    moments = day.moments()
    assert moments == sorted(moments) and day.start < moments[0] and moments[-1] <= day.end
    stamps = [item.at for item in day.prints]
    assert stamps == sorted(stamps), "merged in time order"
    # A bar's close is printed at its end: nothing of a bar shows before it ends.
    assert all(item.at.minute % 5 == 0 for item in day.prints if item.symbol == "SMH")


def test_seoul_is_named_closed_across_seollal(deepseek_day: DayReplay) -> None:
    korea = deepseek_day.day.market_of("korea")
    assert korea is not None and korea.closed
    assert "  KRX (XKRX): closed on Mon 2025-01-27" in timeline_lines(deepseek_day, {})


def test_chip_crash_fires_in_the_pre_market_on_smh_standing_in_for_sox(
    deepseek_day: DayReplay,
) -> None:
    assert deepseek_day.day.stand_ins == {"^SOX": "SMH"}
    first = deepseek_day.first_warning
    assert first is not None
    assert first.outcome.rule.id == "chip_crash" and first.kind == "pre"
    assert first.at == utc("2025-01-27T09:40")  # the 04:35 bar's close, at 04:40 New York
    [reading] = first.outcome.inputs
    assert reading.symbol == "SMH" and reading.label == "SOX (proxy SMH)"
    assert reading.number == pytest.approx((246.31 / 261.67 - 1) * 100)  # −5.87 %
    assert first.lead == timedelta(hours=4, minutes=50)


def test_deepseek_stays_undecided_in_the_pre_market_because_the_dow_has_no_print(
    deepseek_day: DayReplay,
) -> None:
    first = deepseek_day.first_warning
    assert first is not None
    [undecided] = [o for o in first.undecided if o.rule.id == "deepseek"]
    assert undecided.truth is None
    assert [item.instrument.label for item in undecided.missing] == ["DJI"]
    fired = [(a.outcome.rule.id, a.kind) for a in deepseek_day.alerts]
    assert ("deepseek", "close") in fired and ("deepseek", "pre") not in fired


def test_the_timeline_names_each_alert_s_times_and_market_and_the_first_warning_s_lead(
    core: Core, deepseek_day: DayReplay
) -> None:
    lines = timeline_lines(deepseek_day, day_extended(core, deepseek_day.day))
    [first] = [line for line in lines if line.startswith("First warning:")]
    assert first.startswith("First warning: 04:40 EST (04:40 EST) from NYSE pre-market: ")
    assert "chip_crash [notice] SOX (proxy SMH) −5.87 %" in first
    assert first.endswith("4 h 50 m before the open (NYSE opens 09:30 EST)")
    assert any(
        "undecided deepseek: DJI has no pre-market print (^DJI prints only in the session "
        "and DIA has no intraday bars that day)" in line
        for line in lines
    )


def test_a_lead_reads_in_hours_and_minutes_before_or_after_the_open() -> None:
    assert lead_text(timedelta(hours=8)) == "8 h 00 m before the open"
    assert lead_text(timedelta(0)) == "at the open"
    assert lead_text(-timedelta(hours=6, minutes=30)) == "6 h 30 m after the open"


def test_a_market_of_the_test_s_own_settings_plays_its_session_at_its_exchange_times(
    core: Core,
) -> None:
    # Friday 2025-01-24: Seoul traded (09:00–15:30 KST = 00:00–06:30 UTC), inside the
    # trading day that ends with New York's Friday close.
    book = MarketBook((US, KOREA), "us")
    friday = pd.Timestamp("2025-01-24")
    end = digest_after(US.close_of(friday), "06:30", "Asia/Seoul")
    day = build_trading_day(
        core.market, load_intraday(INTRADAY, zone_of), book, friday, end, symbols=["000660.KS"]
    )
    stages = [(item.stage, item.at, item.market) for item in day.prints]
    assert stages == [
        ("previous_close", utc("2025-01-23T06:30"), "korea"),
        ("open", utc("2025-01-24T00:00"), "korea"),
        ("close", utc("2025-01-24T06:30"), "korea"),
    ]
    assert not day.market_of("korea").closed  # type: ignore[union-attr]
    assert markets().default.name == "us"
