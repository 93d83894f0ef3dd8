"""The shipped real history in data/history/: it loads cleanly and shows the real figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bot.domain.history import SymbolHistory, load_history_dir
from tests.conftest import need_shared

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "data" / "history"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "market"
HEADER = "date,open,high,low,close,adj_close,volume"
EXPECTED_FILES = {
    "^SOX", "SOXX", "NVDA", "MU", "SPY", "QQQ", "AVGO", "DIA", "SMH", "AMD", "TSM", "ASML",
    "ARM", "MRVL", "INTC", "QCOM", "AAPL", "MSFT", "GOOGL", "META", "AMZN", "ORCL", "VST",
    "CEG", "^GSPC", "^IXIC", "^VIX", "000660.KS", "005930.KS", "^DJI", "^NDX", "NQ=F", "ES=F",
    "YM=F", "RTY=F", "^GDAXI", "^STOXX50E", "JPY=X", "^N225", "8035.T", "6857.T", "9984.T",
    "ASML.AS", "^KS11",
}  # fmt: skip
# Every warning the shipped data produces: the defects documented in data/history/README.md.
KNOWN_WARNINGS = {
    "^SOX.csv line 7297: open 2906.3 < low 2908.4",
    "000660.KS.csv: 1 XKRX session(s) missing from the file (all-NaN rows): 2025-09-19",
    "005930.KS.csv: 1 XKRX session(s) missing from the file (all-NaN rows): 2025-09-19",
    "000660.KS.csv line 70: close 183704.390625 < low 184593.2828377016",  # 2024-10-14
    "^KS11.csv: 1 XKRX session(s) missing from the file (all-NaN rows): 2024-09-12",  # a stub
    # Yahoo has no futures bar on the US holidays on which CME trades a short session
    "NQ=F.csv: 138 CMES session(s) missing",
    "ES=F.csv: 138 CMES session(s) missing",
    "YM=F.csv: 149 CMES session(s) missing",
    "RTY=F.csv: 53 CMES session(s) missing",
    "^GDAXI.csv: 55 XETR session(s) missing",
    "^STOXX50E.csv: 109 XAMS session(s) missing",
    "JPY=X.csv: 48 24/5 session(s) missing",
}


@pytest.fixture(scope="module")
def loaded() -> tuple[dict[str, SymbolHistory], list[str]]:
    """All shipped files, loaded once."""
    return load_history_dir(HISTORY)


@pytest.fixture(scope="module")
def histories(loaded: tuple[dict[str, SymbolHistory], list[str]]) -> dict[str, SymbolHistory]:
    """The shipped histories keyed by file stem."""
    return loaded[0]


def move(history: SymbolHistory, day: str) -> float:
    """Close-to-close change into `day` from adj_close (previous session's row)."""
    adj = history.frame["adj_close"]
    at = adj.index.get_loc(pd.Timestamp(day))
    assert isinstance(at, int)
    return float(adj.iloc[at] / adj.iloc[at - 1] - 1)


def test_every_shipped_file_has_the_exact_header_and_loads_without_error(
    histories: dict[str, SymbolHistory],
) -> None:
    assert set(histories) == EXPECTED_FILES
    for stem in EXPECTED_FILES:
        first = (HISTORY / f"{stem}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == HEADER, stem


def test_shipped_files_warn_only_about_their_documented_defects(
    loaded: tuple[dict[str, SymbolHistory], list[str]],
) -> None:
    warnings = [w.removeprefix(f"{HISTORY}/") for w in loaded[1]]
    assert len(warnings) == len(KNOWN_WARNINGS)
    for known in KNOWN_WARNINGS:
        assert any(w.startswith(known) for w in warnings), known


def test_every_shipped_row_lands_in_the_frame(histories: dict[str, SymbolHistory]) -> None:
    for stem, history in histories.items():
        rows = (HISTORY / f"{stem}.csv").read_text(encoding="utf-8").count("\n") - 1
        present = len(history.frame) - len(history.missing_sessions)
        assert present == rows, stem


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [("^SOX", -9.15), ("NVDA", -16.97), ("AVGO", -17.40), ("DIA", 0.68), ("^GSPC", -1.46),
     ("^IXIC", -3.07), ("TSM", -13.33), ("VST", -28.27), ("AAPL", 3.18), ("MU", -11.71),
     ("MRVL", -19.10), ("ASML", -5.75), ("AMD", -6.37), ("QQQ", -2.91), ("SPY", -1.41),
     ("^DJI", 0.65), ("^NDX", -2.97), ("NQ=F", -2.98), ("ES=F", -1.41), ("YM=F", 0.68),
     ("RTY=F", -0.96), ("^N225", -0.92), ("8035.T", -4.90), ("6857.T", -8.61),
     ("9984.T", -8.32), ("ASML.AS", -7.01), ("^GDAXI", -0.53), ("^STOXX50E", -0.59),
     ("JPY=X", -0.26)],
)  # fmt: skip
def test_deepseek_day_close_to_close_moves_match_the_reference_figures(
    histories: dict[str, SymbolHistory], symbol: str, expected: float
) -> None:
    assert round(move(histories[symbol], "2025-01-27") * 100, 2) == expected


def test_nvda_prints_its_real_levels_on_the_deepseek_day(
    histories: dict[str, SymbolHistory],
) -> None:
    close = histories["NVDA"].frame["close"]
    assert close[pd.Timestamp("2025-01-24")] == 142.62
    assert close[pd.Timestamp("2025-01-27")] == 118.42


@pytest.mark.parametrize(("symbol", "expected"), [("NVDA", 8.93), ("^SOX", 1.11)])
def test_the_next_day_rebound_matches_the_reference_figures(
    histories: dict[str, SymbolHistory], symbol: str, expected: float
) -> None:
    assert round(move(histories[symbol], "2025-01-28") * 100, 2) == expected


def test_sox_history_starts_on_1994_05_05(histories: dict[str, SymbolHistory]) -> None:
    assert histories["^SOX"].frame.index[0] == pd.Timestamp("1994-05-05")


def test_the_2025_01_09_day_of_mourning_is_in_no_nyse_frame(
    histories: dict[str, SymbolHistory],
) -> None:
    nyse = [h for h in histories.values() if h.calendar == "XNYS"]
    assert len(nyse) == 29
    for history in nyse:
        assert pd.Timestamp("2025-01-09") not in history.frame.index, history.symbol


@pytest.mark.parametrize("stem", ["000660.KS", "005930.KS"])
def test_korean_files_have_no_rows_during_seollal_2025(
    histories: dict[str, SymbolHistory], stem: str
) -> None:
    history = histories[stem]
    assert history.calendar == "XKRX"
    index = history.frame.index
    assert not ((index >= "2025-01-27") & (index <= "2025-01-30")).any()
    text = (HISTORY / f"{stem}.csv").read_text(encoding="utf-8")
    assert all(f"\n2025-01-{d}," not in text for d in (27, 28, 29, 30))
    assert pd.Timestamp("2025-01-31") in index


def test_a_missing_session_is_an_all_nan_row(histories: dict[str, SymbolHistory]) -> None:
    hynix = histories["000660.KS"]
    assert pd.Timestamp("2025-09-19") in hynix.missing_sessions
    assert hynix.frame.loc["2025-09-19"].isna().all()


def test_only_spy_and_qqq_carry_a_distinct_adj_close(histories: dict[str, SymbolHistory]) -> None:
    distinct = {s for s, h in histories.items() if not h.adjusted_levels}
    assert distinct == {"SPY", "QQQ"}


@pytest.mark.parametrize(
    ("stem", "calendar"),
    [("8035.T", "XTKS"), ("^N225", "XTKS"), ("ASML.AS", "XAMS"), ("^STOXX50E", "XAMS"),
     ("^GDAXI", "XETR"), ("NQ=F", "CMES"), ("JPY=X", "24/5"), ("^KS11", "XKRX"),
     ("^DJI", "XNYS")],
)  # fmt: skip
def test_each_new_file_validates_against_its_own_markets_calendar(
    histories: dict[str, SymbolHistory], stem: str, calendar: str
) -> None:
    assert histories[stem].calendar == calendar


def test_tokyo_closes_on_its_own_holidays_not_new_yorks(
    histories: dict[str, SymbolHistory],
) -> None:
    tokyo = histories["8035.T"].frame.index
    assert pd.Timestamp("2025-04-29") not in tokyo  # Showa Day: Tokyo closed, NYSE open
    assert pd.Timestamp("2025-01-20") in tokyo  # Martin Luther King Day: Tokyo open
    assert not histories["8035.T"].missing_sessions


@pytest.mark.parametrize(
    ("stem", "day"),
    [("NQ=F", "2025-07-13"), ("ES=F", "2025-07-13"), ("YM=F", "2025-07-13"),
     ("RTY=F", "2025-07-13"), ("JPY=X", "2025-07-13"), ("^STOXX50E", "2025-08-11"),
     ("^STOXX50E", "2025-09-01"), ("^STOXX50E", "2008-12-24"), ("^KS11", "2024-09-12"),
     ("NQ=F", "2026-02-23")],
)  # fmt: skip
def test_known_defect_rows_are_not_shipped(stem: str, day: str) -> None:
    text = (HISTORY / f"{stem}.csv").read_text(encoding="utf-8")
    assert f"\n{day}," not in text
    readme = (HISTORY / "README.md").read_text(encoding="utf-8")
    notes = next(line for line in readme.splitlines() if line.startswith(f"- `{stem}`:"))
    assert day in notes


def test_the_build_logs_a_warning_for_every_defect_it_drops(tmp_path: Path) -> None:
    need_shared(SHARED, "the shared source records")
    script = ROOT / "scripts" / "build_history.py"
    done = subprocess.run(
        [sys.executable, str(script), "--source", str(SHARED), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "WARNING NQ=F 2025-07-13 dropped: Sunday stub row" in done.stderr
    assert "WARNING NQ=F 2026-02-23 dropped: provisional" in done.stderr
    assert "WARNING ^KS11 2024-09-12 dropped: stub row" in done.stderr
    assert "WARNING ^STOXX50E 2008-12-24 dropped: zero-volume fill" in done.stderr
    assert "WARNING JPY=X 2025-08-24 dropped: 24/5 closed: a weekend row" in done.stderr


@pytest.mark.parametrize(
    ("stem", "splice", "before", "after"),
    [("000660.KS", "2025-01-22", "2025-01-21", "2025-01-22"),
     ("^GSPC", "2025-01-13", "2025-01-10", "2025-01-13"),
     ("^IXIC", "2025-02-21", "2025-02-20", "2025-02-21")],
)  # fmt: skip
def test_a_spliced_series_runs_unbroken_across_its_named_splice_date(
    histories: dict[str, SymbolHistory], stem: str, splice: str, before: str, after: str
) -> None:
    frame = histories[stem].frame
    assert frame.loc[[before, after], "close"].notna().all()
    assert abs(move(histories[stem], after)) < 0.05  # no jump where the sources meet
    readme = (HISTORY / "README.md").read_text(encoding="utf-8")
    assert f"spliced at {splice}; on the " in readme


def test_gspc_has_opens_again_from_its_excerpt() -> None:
    text = (HISTORY / "^GSPC.csv").read_text(encoding="utf-8")
    assert "\n2025-01-10,,,," in text  # the close series: close only
    assert "\n2025-01-13,5782.02001953125," in text  # the excerpt: OHLCV


def test_close_only_sources_leave_open_high_low_volume_empty(
    histories: dict[str, SymbolHistory],
) -> None:
    for stem in ("TSM", "VST"):
        frame = histories[stem].frame
        assert frame[["open", "high", "low", "volume"]].isna().all().all(), stem
        assert (frame["close"].dropna() == frame["adj_close"].dropna()).all(), stem
    gspc = histories["^GSPC"].frame
    assert gspc.loc["2024-12-31", ["open", "high", "low"]].notna().all()
    assert gspc.loc["2025-01-02", ["open", "high", "low", "volume"]].isna().all()


def test_vix_has_yahoo_opens_until_its_source_ends_then_fred_closes_only(
    histories: dict[str, SymbolHistory],
) -> None:
    vix = histories["^VIX"].frame
    assert vix.loc["2025-01-27", ["open", "close"]].tolist() == pytest.approx([18.83, 17.90])
    assert vix.loc["1990-01-02", ["open", "high", "low"]].isna().all()  # flat row: no open
    assert vix.loc["2026-02-20", "open"] == pytest.approx(20.04)
    assert vix.loc["2026-02-23", ["open", "high", "low"]].isna().all()  # FRED close only
    assert vix.loc["2026-02-23", "close"] == pytest.approx(21.01)
    assert not histories["^VIX"].missing_sessions
    assert vix["volume"].isna().all()


def test_every_shipped_file_is_described_in_the_provenance_readme() -> None:
    readme = (HISTORY / "README.md").read_text(encoding="utf-8")
    for stem in EXPECTED_FILES:
        assert f"`{stem}.csv`" in readme, stem
    commits = (
        "c50b376",
        "a4a8d48",
        "005b391",
        "a113714",
        "01074ec",
        "4f9e104",
        "6b0ef12",
        "9414068",
        "594c988",
        "0428bd4",
        "9684aaa",
        "14cfc8c",
        "6cc2ae4",
        "f5d5012",
        "48cc1f1",
    )
    for commit in commits:
        assert commit in readme
    assert "^DJI" in readme and "^NDX" in readme


def test_the_build_script_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    need_shared(SHARED, "the shared source records")
    script = ROOT / "scripts" / "build_history.py"
    subprocess.run(
        [sys.executable, str(script), "--source", str(SHARED), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    built = sorted(p.name for p in tmp_path.iterdir())
    shipped = sorted(p.name for p in HISTORY.iterdir())
    assert built == shipped
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (HISTORY / name).read_bytes(), name


def test_a_missing_shared_file_fails_under_ci_and_otherwise_skips_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "not-there.csv"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"the test records is missing: .*not-there"):
        need_shared(gone, "the test records")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"not-there\.csv"):
        need_shared(gone, "the test records")
    need_shared(tmp_path, "a directory that exists")  # present: goes on
