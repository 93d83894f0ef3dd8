"""Load and validate the shipped daily price history (`data/history/<symbol>.csv`).

File format: a header naming `date,open,high,low,close` and optionally `adj_close` and
`volume` (any order; an absent optional column is all-NaN), then one row per session with an
ISO date and plain numbers; an empty cell means "unknown" and becomes NaN.

Errors (`HistoryError`, naming the file and the 1-based line, header = line 1), checked in
this order: header (missing, unknown or repeated column), wrong field count, unparsable date,
unparsable or non-finite number, non-positive price or negative volume, high < low,
duplicate date, unsorted dates; a file with no data rows, or none on a session, is an error.

Warnings (returned and logged): open or close outside [low, high]; a row on a day with no
session of the symbol's calendar (the row is dropped); missing sessions (one summary).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bot.domain.calendars import session_calendar, sessions_between
from bot.domain.markets import calendar_for_symbol

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close")
COLUMNS = (*PRICE_COLUMNS, "volume")
REQUIRED_COLUMNS = ("date", "open", "high", "low", "close")
OPTIONAL_COLUMNS = ("adj_close", "volume")
_MAX_LISTED = 5  # how many dates or lines a summary warning spells out


class HistoryError(ValueError):
    """A history file that cannot be used; names the file and, when known, the line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path} line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[HistoryError], tuple[Path, int | None, str]]:
        return (type(self), (self.path, self.line, self.message))


@dataclass(frozen=True, eq=False)
class SymbolHistory:
    """One symbol's validated daily history, reindexed to every session of its calendar."""

    symbol: str
    path: Path
    calendar: str
    frame: pd.DataFrame
    missing_sessions: tuple[pd.Timestamp, ...]
    adjusted_levels: bool


def load_symbol_file(
    path: Path, symbol: str | None = None, calendar: str | None = None
) -> tuple[SymbolHistory, list[str]]:
    """Read and validate one file; return its history and the warnings it produced.

    `symbol` defaults to the file stem, `calendar` to the symbol's exchange calendar.
    """
    symbol = symbol or path.stem
    calendar = calendar or calendar_for_symbol(symbol)
    warnings: list[str] = []
    header, lines, cells = _read_cells(path)
    if not lines:
        raise HistoryError(path, None, "no data rows")
    dates = _parse_dates(path, lines, cells[header.index("date")])
    values = {
        col: _parse_numbers(path, col, lines, cells[header.index(col)])
        if col in header
        else np.full(len(lines), np.nan)
        for col in COLUMNS
    }
    _check_values(path, lines, values, warnings)
    _check_order(path, lines, dates)
    keep = _on_sessions(path, calendar, lines, dates, warnings)
    if not keep.any():
        raise HistoryError(path, None, f"no row falls on a {calendar} session")
    dates = dates[keep]
    data = pd.DataFrame({c: v[keep] for c, v in values.items()}, index=dates)
    sessions = sessions_between(calendar, dates[0], dates[-1])
    frame = data.reindex(sessions).astype("float64")
    missing = tuple(sessions.difference(dates))
    if missing:
        listed = ", ".join(str(d.date()) for d in missing[:_MAX_LISTED])
        more = ", …" if len(missing) > _MAX_LISTED else ""
        warnings.append(
            f"{path}: {len(missing)} {calendar} session(s) missing from the file "
            f"(all-NaN rows): {listed}{more}"
        )
    adj, close = values["adj_close"][keep], values["close"][keep]
    both = ~np.isnan(adj) & ~np.isnan(close)
    adjusted_levels = not bool((adj[both] != close[both]).any())
    for message in warnings:
        log.warning("%s", message)
    history = SymbolHistory(symbol, path, calendar, frame, missing, adjusted_levels)
    return history, warnings


def load_history_dir(
    directory: Path, symbols: Iterable[str] | None = None
) -> tuple[dict[str, SymbolHistory], list[str]]:
    """Load every `<stem>.csv` in `directory` (or only the requested stems that exist)."""
    if symbols is None:
        paths = sorted(directory.glob("*.csv"))
    else:
        candidates = (directory / f"{stem}.csv" for stem in dict.fromkeys(symbols))
        paths = [p for p in candidates if p.is_file()]
    for name in {calendar_for_symbol(p.stem) for p in paths}:
        session_calendar(name)  # build each calendar once, up front
    histories: dict[str, SymbolHistory] = {}
    warnings: list[str] = []
    for path in paths:
        history, file_warnings = load_symbol_file(path)
        histories[path.stem] = history
        warnings += file_warnings
    return histories, warnings


def _read_cells(path: Path) -> tuple[list[str], list[int], list[list[str]]]:
    """The header, the line number of each data row, and the cells column by column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            _check_header(path, header)
            lines: list[int] = []
            rows: list[list[str]] = []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != len(header):
                    raise HistoryError(
                        path, reader.line_num, f"{len(row)} fields, expected {len(header)}"
                    )
                lines.append(reader.line_num)
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise HistoryError(path, None, f"not UTF-8 text: {exc}") from exc
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in header]
    return header, lines, columns


def _check_header(path: Path, header: list[str]) -> None:
    """Raise unless the header names the required columns and only known ones, once each."""
    if not header or header == [""]:
        raise HistoryError(path, 1, "empty file: no header")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise HistoryError(path, 1, f"repeated column(s): {', '.join(repeated)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise HistoryError(path, 1, f"missing column(s): {', '.join(missing)}")
    extra = [h for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if extra:
        raise HistoryError(path, 1, f"unknown column(s): {', '.join(extra)}")


def _parse_dates(path: Path, lines: list[int], cells: list[str]) -> pd.DatetimeIndex:
    """ISO `YYYY-MM-DD` dates; the first unparsable one raises."""
    parsed = pd.to_datetime(pd.Series(cells, dtype=object), format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise HistoryError(path, lines[i], f"unparsable date {cells[i]!r} (expected YYYY-MM-DD)")
    return pd.DatetimeIndex(parsed.to_numpy(dtype="datetime64[ns]"), name="date")


def _parse_numbers(path: Path, column: str, lines: list[int], cells: list[str]) -> np.ndarray:
    """Floats, NaN for empty cells; the first unparsable or non-finite cell raises."""
    text = np.array(cells, dtype=object)
    empty = text == ""
    text[empty] = "nan"
    try:
        values = text.astype(np.float64)
    except ValueError:
        values = np.array([_float_or_inf(c) for c in text], dtype=np.float64)
    bad = np.flatnonzero(~empty & ~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise HistoryError(path, lines[i], f"unparsable {column} {cells[i]!r}")
    return values


def _float_or_inf(cell: str) -> float:
    """`float(cell)`, or infinity (reported as unparsable) when it is not a number."""
    try:
        return float(cell)
    except ValueError:
        return float("inf")


def _check_values(
    path: Path, lines: list[int], values: dict[str, np.ndarray], warnings: list[str]
) -> None:
    """Positive prices, non-negative volume, high >= low; warn on open/close outside the range."""
    for col in PRICE_COLUMNS:
        bad = np.flatnonzero(values[col] <= 0)
        if bad.size:
            i = int(bad[0])
            raise HistoryError(path, lines[i], f"non-positive {col} {_fmt(values[col][i])}")
    bad = np.flatnonzero(values["volume"] < 0)
    if bad.size:
        i = int(bad[0])
        raise HistoryError(path, lines[i], f"negative volume {_fmt(values['volume'][i])}")
    high, low = values["high"], values["low"]
    bad = np.flatnonzero(high < low)
    if bad.size:
        i = int(bad[0])
        raise HistoryError(path, lines[i], f"high {_fmt(high[i])} < low {_fmt(low[i])}")
    for col in ("open", "close"):
        price = values[col]
        for j in np.flatnonzero((price < low) | (price > high)):
            k = int(j)
            side, bound = ("low", low[k]) if price[k] < low[k] else ("high", high[k])
            relation = "<" if side == "low" else ">"
            warnings.append(
                f"{path} line {lines[k]}: {col} {_fmt(price[k])} {relation} {side} {_fmt(bound)} "
                f"({abs(price[k] / bound - 1):.2%} outside the day's range)"
            )


def _check_order(path: Path, lines: list[int], dates: pd.DatetimeIndex) -> None:
    """Raise on the first duplicate or out-of-order date."""
    stamps = dates.asi8
    step = np.diff(stamps)
    bad = np.flatnonzero(step <= 0)
    if not bad.size:
        return
    i = int(bad[0]) + 1
    earlier = np.flatnonzero(stamps[:i] == stamps[i])
    day = dates[i].date()
    if earlier.size:
        raise HistoryError(
            path, lines[i], f"duplicate date {day} (first on line {lines[int(earlier[0])]})"
        )
    before = f"{dates[i - 1].date()} on line {lines[i - 1]}"
    raise HistoryError(path, lines[i], f"date {day} comes after {before}: dates must be sorted")


def _on_sessions(
    path: Path,
    calendar: str,
    lines: list[int],
    dates: pd.DatetimeIndex,
    warnings: list[str],
) -> np.ndarray:
    """A mask of rows on sessions of `calendar`; warn about every other row (dropped)."""
    cal = session_calendar(calendar)
    sessions = sessions_between(calendar, dates[0], dates[-1])
    keep = np.asarray(dates.isin(sessions))
    for j in np.flatnonzero(~keep):
        i = int(j)
        day = dates[i]
        if cal.first_session <= day <= cal.last_session:
            why = f"is not a {calendar} session"
        else:
            span = f"{cal.first_session.date()} → {cal.last_session.date()}"
            why = f"is outside the {calendar} calendar ({span})"
        warnings.append(f"{path} line {lines[i]}: {day.date()} {why}; row dropped")
    return keep


def _fmt(value: float) -> str:
    """A number as written in a file (`repr` of the float, no numpy wrapper)."""
    return repr(float(value))
