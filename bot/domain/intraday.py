"""Intraday bars a replay plays at their real minutes (`data/intraday/`, described by its
`bars.toml`).

A bar is stamped at its start in the clock the manifest names (UTC for every shipped file,
whatever offset its labels carry) and prints its close at its end: no look-ahead. Highs and
lows never become prints. Forward-filled bars (volume 0, open = high = low = close) and stray
bars (a high or low beyond `stray_pct` of every price near it: its own open and close and
the neighbouring bars' closes) are dropped with a warning. A bar's move is measured against
the previous regular close on the bars' own price basis (`basis`): the shipped daily close
when that is the official unadjusted one, else a daily file beside the bars.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from bot.domain.history import HistoryError

MANIFEST = "bars.toml"
HISTORY_BASIS = "history"
NO_BASIS = "none"


@dataclass(frozen=True)
class IntradayBar:
    """One cleaned bar: its start and end (UTC) and its prices."""

    symbol: str
    start: datetime
    end: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class IntradayBook:
    """Every shipped symbol's cleaned bars, their price basis, and what cleaning dropped."""

    bars: dict[str, tuple[IntradayBar, ...]] = field(default_factory=dict)
    basis: dict[str, str] = field(default_factory=dict)
    """Symbol → "history", "none" or a daily file's name."""
    basis_closes: dict[str, pd.Series] = field(default_factory=dict)
    """Symbol → its basis file's closes by session (only for a file basis)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Symbol → the bars' file name (provenance)."""
    warnings: tuple[str, ...] = ()

    def between(self, symbol: str, start: datetime, end: datetime) -> list[IntradayBar]:
        """The symbol's bars that print (end) in (start, end]."""
        return [bar for bar in self.bars.get(symbol, ()) if start < bar.end <= end]

    def basis_close(
        self,
        symbol: str,
        session: pd.Timestamp,
        history_close: Callable[[str, pd.Timestamp], float | None],
    ) -> float | None:
        """The regular close of `session` on the bars' own price basis (None: not known)."""
        kind = self.basis.get(symbol, NO_BASIS)
        if kind == HISTORY_BASIS:
            return history_close(symbol, session)
        closes = self.basis_closes.get(symbol)
        if closes is None or session not in closes.index:
            return None
        return float(closes.loc[session])


def load_intraday(
    directory: Path, zone_of: Callable[[str], str], stray_pct: float | None = None
) -> IntradayBook:
    """Read `directory`'s manifest and bars (an empty book when it has none). `zone_of`
    names a symbol's exchange zone (for the warnings' times)."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return IntradayBook()
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise HistoryError(manifest_path, None, f"unreadable: {exc}") from None
    limit = float(manifest.get("stray_pct", 1.0) if stray_pct is None else stray_pct)
    book = IntradayBook()
    warnings: list[str] = []
    for symbol, entry in manifest.get("bars", {}).items():
        path = directory / str(entry["file"])
        interval = timedelta(minutes=float(entry["interval_minutes"]))
        frame = _read_bars(path, str(entry.get("clock", "UTC")))
        kept, dropped = clean_bars(frame, limit)
        warnings += _dropped_lines(symbol, path.name, dropped, zone_of(symbol))
        book.bars[symbol] = tuple(
            IntradayBar(symbol, start, start + interval, *row)
            for start, row in zip(
                (stamp.to_pydatetime() for stamp in kept.index),
                kept[["open", "high", "low", "close", "volume"]].itertuples(index=False),
                strict=True,
            )
        )
        basis = str(entry.get("basis", NO_BASIS))
        book.basis[symbol] = basis
        book.sources[symbol] = path.name
        if basis not in (HISTORY_BASIS, NO_BASIS):
            book.basis_closes[symbol] = _read_daily_closes(directory / basis)
    return IntradayBook(book.bars, book.basis, book.basis_closes, book.sources, tuple(warnings))


def _read_bars(path: Path, clock: str) -> pd.DataFrame:
    """The bars of `path` indexed by their start in UTC (labels' offsets ignored)."""
    try:
        raw = pd.read_csv(path, dtype={"timestamp": str})
    except (OSError, ValueError) as exc:
        raise HistoryError(path, None, f"unreadable: {exc}") from None
    # "2025-01-27 09:35:00-0500" is 09:35 in `clock` (UTC), whatever the label says.
    stamps = pd.to_datetime(raw["timestamp"].str.slice(0, 19), format="%Y-%m-%d %H:%M:%S")
    index = pd.DatetimeIndex(stamps).tz_localize(clock).tz_convert("UTC")
    frame = raw[["open", "high", "low", "close", "volume"]].astype("float64")
    frame.index = index
    return frame.sort_index()


def _read_daily_closes(path: Path) -> pd.Series:
    """A daily OHLCV file's closes by session (`Date` like `2025-01-27 05:00:00+00:00`)."""
    try:
        raw = pd.read_csv(path, dtype={"Date": str})
    except (OSError, ValueError) as exc:
        raise HistoryError(path, None, f"unreadable: {exc}") from None
    sessions = pd.DatetimeIndex(pd.to_datetime(raw["Date"].str.slice(0, 10)))
    return pd.Series(raw["Close"].astype("float64").to_numpy(), index=sessions)


def clean_bars(frame: pd.DataFrame, stray_pct: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, dropped): forward-filled and stray bars out, with a `why` column on dropped."""
    flat = (
        (frame["volume"] == 0)
        & (frame["open"] == frame["high"])
        & (frame["high"] == frame["low"])
        & (frame["low"] == frame["close"])
    )
    rest = frame[~flat]
    before = rest["close"].shift(1)
    after = rest["close"].shift(-1)
    near = pd.concat([rest["open"], rest["close"], before, after], axis=1)
    floor = near.min(axis=1) * (1 - stray_pct / 100)
    ceiling = near.max(axis=1) * (1 + stray_pct / 100)
    stray = (rest["low"] < floor) | (rest["high"] > ceiling)
    dropped = pd.concat(
        [
            frame[flat].assign(why="forward-filled zero-volume bar"),
            rest[stray].assign(why="stray bar"),
        ]
    ).sort_index()
    return rest[~stray], dropped


def _dropped_lines(symbol: str, name: str, dropped: pd.DataFrame, zone: str) -> list[str]:
    """One warning per (day, reason): how many bars, and when (exchange time)."""
    lines: list[str] = []
    if dropped.empty:
        return lines
    local = pd.DatetimeIndex(dropped.index).tz_convert(zone)
    keys: Iterable[tuple[object, str]] = dict.fromkeys(zip(local.date, dropped["why"], strict=True))
    for day, why in keys:
        rows = dropped[(local.date == day) & (dropped["why"] == why)]
        times = pd.DatetimeIndex(rows.index).tz_convert(zone)
        span = f"{times[0]:%H:%M}" if len(rows) == 1 else f"{times[0]:%H:%M}–{times[-1]:%H:%M}"
        detail = ""
        if why == "stray bar":
            figures = "; ".join(
                f"high {row.high:g} low {row.low:g} close {row.close:g}"
                for row in rows.itertuples()
            )
            detail = f" (no trade near its high or low: {figures})"
        count = f"{len(rows)} {why}{'s' if len(rows) > 1 else ''}"
        lines.append(f"{name}: {symbol} {day} {span} {times[0]:%Z}: {count} dropped{detail}")
    return lines
