"""Snapshots and metrics on the real history: values, proxies, and explicit unavailability."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.domain.market import MarketData
from bot.domain.price_metrics import Unavailable
from bot.domain.snapshot import Quote
from bot.services import Core

DEEPSEEK_DAY = pd.Timestamp("2025-01-27")


def quote(core: Core, symbol: str, stage: str = "close", day: pd.Timestamp = DEEPSEEK_DAY) -> Quote:
    found = core.market.snapshot(day, stage).quote(symbol)  # type: ignore[arg-type]
    assert isinstance(found, Quote), found
    return found


@pytest.mark.parametrize(
    ("symbol", "move"),
    [
        ("^SOX", -9.15),
        ("NVDA", -16.97),
        ("AVGO", -17.40),
        ("DIA", 0.68),
        ("^GSPC", -1.46),
        ("^IXIC", -3.07),
        ("TSM", -13.33),
        ("MRVL", -19.10),
        ("VST", -28.27),
        ("AAPL", 3.18),
        ("QQQ", -2.91),
    ],
)
def test_close_snapshot_reproduces_the_real_deepseek_moves(
    core: Core, symbol: str, move: float
) -> None:
    assert round(quote(core, symbol).metric("pct"), 2) == move  # type: ignore[arg-type]


def test_nvda_quote_carries_real_levels_gap_intraday_and_z(core: Core) -> None:
    nvda = quote(core, "NVDA")
    assert (nvda.previous_close, nvda.last) == (142.62, 118.42)
    assert nvda.open == 124.80 and nvda.low == 116.70 and nvda.high == 128.40
    assert round(nvda.metric("gap"), 2) == -12.49  # type: ignore[arg-type]
    assert round(nvda.metric("intraday"), 2) == -5.11  # type: ignore[arg-type]
    vol20 = nvda.metric("vol20")
    assert isinstance(vol20, float) and vol20 > 0
    assert nvda.metric("z") == pytest.approx(nvda.metric("pct") / vol20)  # type: ignore[operator]


def test_vol20_is_the_sample_stdev_of_the_twenty_prior_moves(core: Core) -> None:
    table = core.market.table("NVDA")
    assert table is not None
    position = table.frame.index.get_loc(DEEPSEEK_DAY)
    prior = table.frame["pct"].iloc[position - 20 : position]  # type: ignore[operator]
    assert table.frame.at[DEEPSEEK_DAY, "vol20"] == pytest.approx(prior.std(ddof=1))


def test_open_snapshot_shows_the_opening_print_and_hides_the_high_and_low(core: Core) -> None:
    nvda = quote(core, "NVDA", "open")
    assert nvda.state == "open" and nvda.last == 124.80
    assert nvda.high is None and nvda.low is None
    assert nvda.metric("pct") == nvda.metric("gap")


def test_symbol_without_an_opening_print_is_unavailable_at_the_open_with_the_reason(
    core: Core,
) -> None:
    tsm = quote(core, "TSM", "open")
    reading = tsm.metric("pct")
    assert isinstance(reading, Unavailable) and reading.code == "no_open"


def test_korean_symbol_is_stale_while_seoul_is_closed_for_seollal(core: Core) -> None:
    hynix = core.market.snapshot(DEEPSEEK_DAY, "close").quote("000660.KS")
    assert isinstance(hynix, Quote)
    reading = hynix.metric("pct")
    assert isinstance(reading, Unavailable) and reading.code == "stale"


def test_korean_reaction_shows_on_the_first_session_after_the_holiday(core: Core) -> None:
    hynix = quote(core, "000660.KS", day=pd.Timestamp("2025-01-31"))
    assert hynix.session == pd.Timestamp("2025-01-31")
    assert hynix.metric("pct") < -9  # type: ignore[operator]


def test_proxy_serves_the_dow_where_the_index_has_no_data_and_is_named(core: Core) -> None:
    dow = core.market.symbols.resolve("DJI")
    reading = core.market.snapshot(pd.Timestamp("2026-03-06"), "close").read(dow, "pct")
    assert reading.symbol == "DIA" and reading.via_proxy and reading.label == "DJI (proxy DIA)"


def test_the_dow_itself_wins_over_its_proxy_on_the_deepseek_day(core: Core) -> None:
    dow = core.market.symbols.resolve("DJI")
    reading = core.market.snapshot(DEEPSEEK_DAY, "close").read(dow, "pct")
    assert reading.symbol == "^DJI" and not reading.via_proxy and reading.label == "DJI"
    assert round(reading.number, 2) == 0.65  # type: ignore[arg-type]


def test_index_is_preferred_over_its_proxy_when_it_has_data(core: Core) -> None:
    spx = core.market.symbols.resolve("SPX")
    reading = core.market.snapshot(DEEPSEEK_DAY, "close").read(spx, "pct")
    assert reading.symbol == "^GSPC" and not reading.via_proxy


def write_csv(path: Path, rows: list[str]) -> None:
    path.write_text("date,open,high,low,close,adj_close,volume\n" + "\n".join(rows) + "\n")


def test_a_missing_session_makes_the_next_sessions_move_unavailable_not_a_two_day_move(
    tmp_path: Path,
) -> None:
    days = pd.bdate_range("2024-06-03", "2024-07-12")
    rows = [
        f"{d.date()},,,,{100 + i},," for i, d in enumerate(days) if d != pd.Timestamp("2024-06-12")
    ]
    write_csv(tmp_path / "NVDA.csv", rows)
    market, warnings = MarketData.load(tmp_path, {})
    assert any("missing" in w for w in warnings)
    snap = market.snapshot(pd.Timestamp("2024-06-13"), "close")
    found = snap.quote("NVDA")
    assert isinstance(found, Quote)
    reading = found.metric("pct")
    assert isinstance(reading, Unavailable) and reading.code == "missing_previous"
    missing_day = market.snapshot(pd.Timestamp("2024-06-12"), "close").quote("NVDA")
    assert isinstance(missing_day, Unavailable) and missing_day.code == "missing_session"


def test_alias_named_file_serves_the_alias(tmp_path: Path) -> None:
    days = pd.bdate_range("2024-06-03", "2024-06-28")
    write_csv(tmp_path / "SOX.csv", [f"{d.date()},,,,{100 + i},," for i, d in enumerate(days)])
    market, _ = MarketData.load(tmp_path, {"SOX": {"symbol": "^SOX"}})
    assert market.has("^SOX")
    assert market.symbols.resolve("SOX").symbol == "^SOX"


def test_an_alias_file_beside_its_yahoo_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    days = pd.bdate_range("2024-06-03", "2024-06-28")
    write_csv(tmp_path / "SOX.csv", [f"{d.date()},,,,{100 + i},," for i, d in enumerate(days)])
    write_csv(tmp_path / "^SOX.csv", [f"{d.date()},,,,{200 + i},," for i, d in enumerate(days)])
    market, warnings = MarketData.load(tmp_path, {"SOX": {"symbol": "^SOX"}})
    table = market.table("^SOX")
    assert table is not None and table.frame["close"].iloc[0] == 200
    assert any("SOX.csv: ignored" in w for w in warnings)
