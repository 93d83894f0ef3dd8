"""The history loader's contract, on tiny files written to tmp_path."""

from __future__ import annotations

import logging
import math
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.history import HistoryError, load_history_dir, load_symbol_file

HEADER = "date,open,high,low,close,adj_close,volume"
# Three consecutive NYSE sessions (2025-01-09 was a day of mourning: no session).
FRI = "2025-01-24,10.0,11.0,9.0,10.5,10.4,1000"
MON = "2025-01-27,10.5,10.9,8.0,8.5,8.4,3000"
TUE = "2025-01-28,8.5,9.5,8.2,9.2,9.1,2000"


def write(directory: Path, name: str, *lines: str, header: str = HEADER) -> Path:
    """A history file with `header` then `lines`, LF line ends."""
    path = directory / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def raises_at(path: Path, line: int | None, fragment: str) -> Any:
    """Expect a HistoryError at `path`/`line` whose message contains `fragment`."""
    where = f"{path} line {line}: " if line is not None else f"{path}: "
    return pytest.raises(HistoryError, match=rf"^{re.escape(where)}.*{re.escape(fragment)}")


# --- the happy path -------------------------------------------------------------------------


def test_loader_reads_a_valid_file_into_a_float_frame_indexed_by_session(tmp_path: Path) -> None:
    history, warnings = load_symbol_file(write(tmp_path, "NVDA.csv", FRI, MON, TUE))
    assert warnings == []
    assert history.symbol == "NVDA" and history.calendar == "XNYS"
    assert history.path == tmp_path / "NVDA.csv"
    frame = history.frame
    assert list(frame.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert (frame.dtypes == "float64").all()
    assert frame.index.name == "date" and frame.index.tz is None
    assert list(frame.index) == [
        pd.Timestamp(d) for d in ("2025-01-24", "2025-01-27", "2025-01-28")
    ]
    assert frame.loc["2025-01-27", "close"] == 8.5
    assert frame.loc["2025-01-27", "adj_close"] == 8.4
    assert history.missing_sessions == ()
    assert history.adjusted_levels is False


def test_loader_symbol_defaults_to_the_file_stem_and_can_be_given(tmp_path: Path) -> None:
    path = write(tmp_path, "^SOX.csv", FRI)
    assert load_symbol_file(path)[0].symbol == "^SOX"
    assert load_symbol_file(path, symbol="SOX")[0].symbol == "SOX"


def test_loader_accepts_crlf_line_ends_a_bom_and_columns_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    text = "\ufeffclose,date,low,high,open\r\n10.5,2025-01-24,9.0,11.0,10.0\r\n"
    path.write_text(text, encoding="utf-8", newline="")
    frame = load_symbol_file(path)[0].frame
    assert frame.loc["2025-01-24", ["open", "high", "low", "close"]].tolist() == [10, 11, 9, 10.5]


def test_loader_treats_absent_adj_close_and_volume_columns_as_nan(tmp_path: Path) -> None:
    path = write(
        tmp_path, "X.csv", "2025-01-24,10.0,11.0,9.0,10.5", header="date,open,high,low,close"
    )
    history, warnings = load_symbol_file(path)
    assert warnings == []
    assert history.frame["adj_close"].isna().all() and history.frame["volume"].isna().all()
    assert history.adjusted_levels is True  # nothing distinct from close


def test_loader_leaves_adj_close_nan_where_only_close_is_known(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI, "2025-01-27,,,,8.5,,")
    frame = load_symbol_file(path)[0].frame
    assert frame.loc["2025-01-27", "close"] == 8.5
    assert math.isnan(frame.loc["2025-01-27", "adj_close"])
    assert frame.loc["2025-01-27", ["open", "high", "low", "volume"]].isna().all()


def test_loader_flags_adjusted_levels_when_adj_close_never_differs_from_close(
    tmp_path: Path,
) -> None:
    same = write(tmp_path, "A.csv", "2025-01-24,,,,10.0,10.0,", "2025-01-27,,,,9.0,,")
    assert load_symbol_file(same)[0].adjusted_levels is True
    distinct = write(tmp_path, "B.csv", FRI)
    assert load_symbol_file(distinct)[0].adjusted_levels is False


def test_loader_accepts_zero_volume(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "2025-01-24,10.0,11.0,9.0,10.5,10.5,0")
    assert load_symbol_file(path)[0].frame["volume"].tolist() == [0.0]


def test_loader_skips_blank_lines_but_keeps_counting_them(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI, "", "2025-01-27,10.5,9.0,11.0,8.5,8.4,3000")
    with raises_at(path, 4, "high 9.0 < low 11.0"):
        load_symbol_file(path)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=1e-6, max_value=1e9), min_size=1, max_size=3))
def test_loader_reads_repr_written_floats_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, closes: list[float]
) -> None:
    days = ["2025-01-24", "2025-01-27", "2025-01-28"][: len(closes)]
    rows = [f"{d},,,,{c!r},{c!r}," for d, c in zip(days, closes, strict=True)]
    path = write(tmp_path_factory.mktemp("h"), "X.csv", *rows)
    assert load_symbol_file(path)[0].frame["close"].tolist() == closes


# --- errors ---------------------------------------------------------------------------------


def test_history_error_names_file_and_line_and_keeps_them_as_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "NVDA.csv", FRI, "2025-01-27,10.5,10.0,11.0,10.5,10.5,1")
    with pytest.raises(HistoryError) as caught:
        load_symbol_file(path)
    assert str(caught.value) == f"{path} line 3: high 10.0 < low 11.0"
    assert caught.value.path == path and caught.value.line == 3
    assert isinstance(caught.value, ValueError)
    clone = pickle.loads(pickle.dumps(caught.value))
    assert str(clone) == str(caught.value) and clone.line == 3


def test_loader_rejects_high_below_low_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "NVDA.csv", FRI, MON, "2025-01-28,10.5,10.0,11.0,10.5,10.5,1")
    with raises_at(path, 4, "high 10.0 < low 11.0"):
        load_symbol_file(path)


@pytest.mark.parametrize(
    "header", ["date,open,high,low", "date,open,high,close", "open,high,low,close"]
)
def test_loader_rejects_a_header_missing_a_required_column_on_line_1(
    tmp_path: Path, header: str
) -> None:
    path = write(tmp_path, "X.csv", header=header)
    with raises_at(path, 1, "missing column"):
        load_symbol_file(path)


def test_loader_rejects_an_unknown_header_column_on_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI + ",yahoo", header=HEADER + ",source")
    with raises_at(path, 1, "unknown column(s): source"):
        load_symbol_file(path)


def test_loader_rejects_a_repeated_header_column_on_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "2025-01-24,1,1,1,1,1", header="date,open,high,low,close,close")
    with raises_at(path, 1, "repeated column(s): close"):
        load_symbol_file(path)


def test_loader_rejects_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("", encoding="utf-8")
    with raises_at(path, 1, "no header"):
        load_symbol_file(path)


def test_loader_rejects_a_header_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv")
    with raises_at(path, None, "no data rows"):
        load_symbol_file(path)


@pytest.mark.parametrize("row", ["2025-01-24,10.0,11.0,9.0,10.5,10.4", FRI + ",7"])
def test_loader_rejects_a_row_with_the_wrong_number_of_fields(tmp_path: Path, row: str) -> None:
    path = write(tmp_path, "X.csv", row)
    with raises_at(path, 2, "fields, expected 7"):
        load_symbol_file(path)


@pytest.mark.parametrize("bad", ["2025-13-01", "27/01/2025", "", "2025-01-27 05:00:00+00:00"])
def test_loader_rejects_an_unparsable_date_naming_file_and_line(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "X.csv", FRI, bad + ",10.5,10.9,8.0,8.5,8.4,3000")
    with raises_at(path, 3, f"unparsable date {bad!r}"):
        load_symbol_file(path)


@pytest.mark.parametrize("bad", ["abc", "1,5", "nan", "inf", "--1"])
def test_loader_rejects_an_unparsable_number_naming_file_line_and_column(
    tmp_path: Path, bad: str
) -> None:
    cell = f'"{bad}"' if "," in bad else bad
    path = write(tmp_path, "X.csv", FRI, f"2025-01-27,10.5,10.9,8.0,{cell},8.4,3000")
    with raises_at(path, 3, f"unparsable close {bad!r}"):
        load_symbol_file(path)


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "adj_close"])
@pytest.mark.parametrize("value", ["0", "-1.5"])
def test_loader_rejects_a_non_positive_price(tmp_path: Path, column: str, value: str) -> None:
    cells = {"open": "", "high": "", "low": "", "close": "5", "adj_close": "5", "volume": ""}
    cells[column] = value
    row = ",".join(["2025-01-27", *cells.values()])
    path = write(tmp_path, "X.csv", FRI, row)
    with raises_at(path, 3, f"non-positive {column} {float(value)!r}"):
        load_symbol_file(path)


def test_loader_rejects_a_negative_volume(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "2025-01-24,10.0,11.0,9.0,10.5,10.4,-5")
    with raises_at(path, 2, "negative volume -5.0"):
        load_symbol_file(path)


def test_loader_rejects_a_duplicate_date_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI, MON, MON)
    with raises_at(path, 4, "duplicate date 2025-01-27 (first on line 3)"):
        load_symbol_file(path)


def test_loader_rejects_a_non_adjacent_duplicate_as_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI, MON, FRI)
    with raises_at(path, 4, "duplicate date 2025-01-24 (first on line 2)"):
        load_symbol_file(path)


def test_loader_rejects_unsorted_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", FRI, TUE, MON)
    with raises_at(path, 4, "date 2025-01-27 comes after 2025-01-28 on line 3"):
        load_symbol_file(path)


def test_loader_rejects_a_file_with_no_row_on_a_session(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "2025-01-25,10.0,11.0,9.0,10.5,10.4,1")  # a Saturday
    with raises_at(path, None, "no row falls on a XNYS session"):
        load_symbol_file(path)


# --- warnings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2025-01-27,7.9,10.9,8.0,8.5,8.4,3", "line 3: open 7.9 < low 8.0 (1.25% outside"),
        ("2025-01-27,10.5,10.9,8.0,11.0,8.4,3", "line 3: close 11.0 > high 10.9 (0.92% outside"),
    ],
)
def test_loader_warns_when_open_or_close_is_outside_the_days_range_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, row: str, expected: str
) -> None:
    path = write(tmp_path, "X.csv", FRI, row)
    with caplog.at_level(logging.WARNING, logger="bot.domain.history"):
        history, warnings = load_symbol_file(path)
    assert len(warnings) == 1 and warnings[0].startswith(f"{path} {expected}")
    assert warnings[0] in caplog.messages
    assert len(history.frame) == 2  # the row is kept


@pytest.mark.parametrize("day", ["2025-01-09", "2025-01-25", "2025-01-20"])
def test_loader_drops_a_row_on_a_day_without_session_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, day: str
) -> None:
    rows = sorted([f"{day},10.0,11.0,9.0,10.5,10.4,1", "2025-01-08,10,11,9,10,10,1", FRI])
    path = write(tmp_path, "X.csv", *rows)
    with caplog.at_level(logging.WARNING, logger="bot.domain.history"):
        history, warnings = load_symbol_file(path)
    line = 2 + rows.index(next(r for r in rows if r.startswith(day)))
    stray = [w for w in warnings if "not a XNYS session" in w]
    assert stray == [f"{path} line {line}: {day} is not a XNYS session; row dropped"]
    assert stray[0] in caplog.messages
    assert pd.Timestamp(day) not in history.frame.index


def test_loader_warns_about_rows_outside_the_calendars_range(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "1985-01-02,1,1,1,1,1,1", FRI)
    history, warnings = load_symbol_file(path)
    assert any("line 2: 1985-01-02 is outside the XNYS calendar" in w for w in warnings)
    assert history.frame.index[0] == pd.Timestamp("2025-01-24")


def test_loader_turns_missing_sessions_into_all_nan_rows_with_one_summary_warning(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "X.csv", "2025-01-02,1,1,1,1,1,1", "2025-01-31,1,1,1,1,1,1")
    history, warnings = load_symbol_file(path)
    missing = history.missing_sessions
    assert len(missing) == 18 and pd.Timestamp("2025-01-09") not in missing
    assert pd.Timestamp("2025-01-20") not in missing  # MLK day: no session
    assert history.frame.loc[missing[0]].isna().all()
    assert len(history.frame) == 20
    assert warnings == [
        f"{path}: 18 XNYS session(s) missing from the file (all-NaN rows): "
        "2025-01-03, 2025-01-06, 2025-01-07, 2025-01-08, 2025-01-10, …"
    ]


def test_loader_uses_the_korean_calendar_for_ks_symbols(tmp_path: Path) -> None:
    rows = ["2025-01-24,1,1,1,1,1,1", "2025-01-27,1,1,1,1,1,1", "2025-01-31,1,1,1,1,1,1"]
    history, warnings = load_symbol_file(write(tmp_path, "000660.KS.csv", *rows))
    assert history.calendar == "XKRX"
    assert list(history.frame.index.strftime("%Y-%m-%d")) == ["2025-01-24", "2025-01-31"]
    assert warnings == [
        f"{tmp_path / '000660.KS.csv'} line 3: 2025-01-27 is not a XKRX session; row dropped"
    ]


def test_loader_calendar_argument_overrides_the_symbols_calendar(tmp_path: Path) -> None:
    path = write(tmp_path, "SOX.csv", "2025-01-24,1,1,1,1,1,1", "2025-01-31,1,1,1,1,1,1")
    history, warnings = load_symbol_file(path, calendar="XKRX")
    assert history.calendar == "XKRX" and warnings == []


# --- directories ----------------------------------------------------------------------------


def test_load_history_dir_keys_by_stem_and_loads_only_requested_stems(tmp_path: Path) -> None:
    write(tmp_path, "^SOX.csv", FRI)
    write(tmp_path, "NVDA.csv", FRI, MON)
    (tmp_path / "README.md").write_text("not a history file\n", encoding="utf-8")
    every, warnings = load_history_dir(tmp_path)
    assert sorted(every) == ["NVDA", "^SOX"] and warnings == []
    some, _ = load_history_dir(tmp_path, ["NVDA", "^DJI"])
    assert list(some) == ["NVDA"]
    assert isinstance(some["NVDA"].frame, pd.DataFrame)


def test_load_history_dir_collects_warnings_and_raises_on_a_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", FRI, "2025-01-25,1,1,1,1,1,1", MON)
    _, warnings = load_history_dir(tmp_path)
    assert len(warnings) == 1 and "A.csv line 3" in warnings[0]
    write(tmp_path, "B.csv", FRI, FRI)
    with pytest.raises(HistoryError, match=re.escape("B.csv line 3: duplicate date")):
        load_history_dir(tmp_path)


def test_symbol_history_is_frozen(tmp_path: Path) -> None:
    history, _ = load_symbol_file(write(tmp_path, "X.csv", FRI))
    with pytest.raises(AttributeError):
        history.symbol = "Y"  # type: ignore[misc]
    assert np.isfinite(history.frame["close"]).all()
