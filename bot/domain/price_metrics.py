"""Derived daily metrics of one symbol, computed once over its whole history.

All moves are in percent. `pct` compares with the previous session's close on the
return basis (`adj_close` where the file has it, else `close`); `pct5` and `pct20` with the
close 5 and 20 sessions earlier (both ends must be known, like `pct`'s); `gap` is the open against
the previous close, `intraday` the last against the open, `vol20` the sample standard
deviation of the 20 daily `pct` moves *before* the session, and `z = pct / vol20`.
A metric that cannot be computed is NaN here and is turned into an explicit
`Unavailable` with its reason by `explain_unavailable` — never compared silently.

Opens a source merely copied from the previous close (`filler_spans`, read from
`data/history/levels.toml`) are unknown, and a move between cent-rounded prices too coarse
to trust (`_rounding_noise`) is unknown too — for `pct`, `gap` and `intraday` alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd

from bot.domain.history import SymbolHistory

VOL_WINDOW = 20
MAX_ROUNDING_NOISE = 0.5
"""Percentage points of possible rounding error above which a move is not trusted."""
FORWARD_HORIZONS = (1, 5, 20)
SPAN_METRICS: dict[str, int] = {"pct5": 5, "pct20": 20}
"""Multi-session moves: the close (or print) against the close N sessions earlier."""
METRIC_COLUMNS = ("pct", "gap", "intraday", "vol20", "z", "last", "prev_close", *SPAN_METRICS)
FillerSpan = tuple[pd.Timestamp, pd.Timestamp]
"""[from, to): sessions on which an open equal to the previous close is a filler copy."""


@dataclass(frozen=True)
class Unavailable:
    """Why a metric has no value: a stable code (for translation) and an English detail."""

    code: str
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class MetricTable:
    """A symbol's metrics, one row per session of its calendar."""

    symbol: str
    calendar: str
    frame: pd.DataFrame
    """Columns: open high low close prev_close ref_close last pct gap intraday vol20 z,
    the flags coarse coarse_gap coarse_intraday filler, the return `basis`, the moves `pct5`
    `pct20` and their factors `pre5` `pre20` (the sessions before today's, as a ratio), plus
    fwd1 fwd5 fwd20 (forward returns on the return basis). `open` is NaN where the source's
    open is a filler copy."""
    first: pd.Timestamp
    last_date: pd.Timestamp
    adjusted_levels: bool
    uses_adj_close: bool


def compute_metrics(history: SymbolHistory, filler_spans: Sequence[FillerSpan] = ()) -> MetricTable:
    """Vectorised metrics over a symbol's full history.

    Within `filler_spans`, an open equal to the previous session's close is a filler copy,
    not a print: it becomes NaN (so gap and intraday are unknown); high and low are kept.
    """
    frame = history.frame
    close = frame["close"].astype(float)
    adj = frame["adj_close"].astype(float)
    uses_adj = bool(adj.notna().any()) and not bool((adj == close).all())
    basis = adj if uses_adj else close
    prev_basis = basis.shift(1)
    prev_close = close.shift(1)
    pct = (basis / prev_basis - 1.0) * 100.0
    noise = _rounding_noise(basis)
    coarse = _too_coarse(noise, 1).set_axis(basis.index)
    pct = pct.where(~coarse)
    # The previous close expressed on today's raw-price basis, so an open or an
    # intraday print compares like for like with the adjusted close-to-close move.
    ref_close = prev_basis * close / basis if uses_adj else prev_close
    filler = _filler_opens(frame["open"].astype(float), prev_close, filler_spans)
    opens = frame["open"].astype(float).where(~filler)
    open_noise = _rounding_noise(opens)
    close_noise = _rounding_noise(close)
    coarse_gap = _too_coarse_pair(open_noise, close_noise, 1).set_axis(basis.index)
    coarse_intraday = _too_coarse_pair(open_noise, close_noise, 0).set_axis(basis.index)
    gap = ((opens / ref_close - 1.0) * 100.0).where(~coarse_gap)
    intraday = ((close / opens - 1.0) * 100.0).where(~coarse_intraday)
    spans = _span_moves(basis.to_numpy(dtype=float), noise)
    vol20 = pct.shift(1).rolling(VOL_WINDOW, min_periods=VOL_WINDOW).std(ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = pct / vol20.where(vol20 > 0)
    table = pd.DataFrame(
        {
            "open": opens,
            "high": frame["high"].astype(float),
            "low": frame["low"].astype(float),
            "close": close,
            "prev_close": prev_close,
            "ref_close": ref_close,
            "last": close,
            "pct": pct,
            "gap": gap,
            "intraday": intraday,
            "vol20": vol20,
            "z": z,
            "coarse": coarse,
            "coarse_gap": coarse_gap,
            "coarse_intraday": coarse_intraday,
            "filler": filler,
            "basis": basis,
            **spans,
        },
        index=frame.index,
    )
    for horizon in FORWARD_HORIZONS:
        forward = (basis.shift(-horizon) / basis - 1.0) * 100.0
        table[f"fwd{horizon}"] = forward.where(~_too_coarse(noise, -horizon).set_axis(basis.index))
    present = close.dropna().index
    return MetricTable(
        symbol=history.symbol,
        calendar=history.calendar,
        frame=table,
        first=present[0] if len(present) else frame.index[0],
        last_date=present[-1] if len(present) else frame.index[-1],
        adjusted_levels=history.adjusted_levels,
        uses_adj_close=uses_adj,
    )


def _span_moves(basis: np.ndarray, noise: np.ndarray) -> dict[str, np.ndarray]:
    """`pct5`, `pct20` (percent) and `pre5`, `pre20`: the ratio of the previous close to the
    close N sessions back — what a print today compounds with (at the open, live). NaN where
    either end is unknown or the move is within cent-rounding noise (numpy: this runs for every
    file a command reads)."""
    found: dict[str, np.ndarray] = {}
    previous = np.concatenate(([np.nan], basis[:-1]))
    for name, sessions in SPAN_METRICS.items():
        start = np.full(len(basis), np.nan)
        start_noise = np.zeros(len(basis))
        if len(basis) > sessions:
            start[sessions:] = basis[:-sessions]
            start_noise[sessions:] = noise[:-sessions]
        coarse = (noise + start_noise) > MAX_ROUNDING_NOISE
        with np.errstate(divide="ignore", invalid="ignore"):
            found[name] = np.where(coarse, np.nan, (basis / start - 1.0) * 100.0)
            found[f"pre{sessions}"] = np.where(coarse, np.nan, previous / start)
    return found


@overload
def span_at_print(pct: float, before: float) -> float: ...
@overload
def span_at_print(pct: np.ndarray, before: np.ndarray) -> np.ndarray: ...
def span_at_print(pct: float | np.ndarray, before: float | np.ndarray) -> float | np.ndarray:
    """A multi-session move at a print: today's move so far compounded with the sessions
    before today's (``before``, a ratio such as ``pre5``); NaN when either is unknown."""
    return ((1.0 + pct / 100.0) * before - 1.0) * 100.0


def _filler_opens(
    opens: pd.Series, prev_close: pd.Series, spans: Sequence[FillerSpan]
) -> pd.Series:
    """True on sessions inside a span whose open equals the previous session's close."""
    inside = np.zeros(len(opens), dtype=bool)
    for start, end in spans:
        inside |= (opens.index >= start) & (opens.index < end)
    return pd.Series(inside, index=opens.index) & (opens == prev_close)


def _rounding_noise(basis: pd.Series) -> np.ndarray:
    """Possible rounding error of each price, in percent of it (0 for full-precision prices).

    Old split-adjusted series carry prices such as 0.43 rounded to the cent: a move between
    two of them is uncertain by up to (0.005/p₀ + 0.005/p₁)·100 percentage points.
    """
    values = basis.to_numpy(dtype=float)
    cents = values * 100.0
    with np.errstate(invalid="ignore"):
        rounded = np.abs(cents - np.round(cents)) < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rounded, 0.5 / values, 0.0)


def _too_coarse(noise: np.ndarray, lag: int) -> pd.Series:
    """True where a move over `lag` sessions (negative: forward) is within rounding noise."""
    return _too_coarse_pair(noise, noise, lag)


def _too_coarse_pair(later: np.ndarray, earlier: np.ndarray, lag: int) -> pd.Series:
    """True where a move from `earlier` prices (`lag` sessions back) to `later` ones is noise.

    `gap` pairs today's open with yesterday's close (lag 1), `intraday` today's close with
    today's open (lag 0), `pct` the return basis with itself.
    """
    shifted = pd.Series(earlier).shift(lag).fillna(0.0).to_numpy()
    return pd.Series((later + shifted) > MAX_ROUNDING_NOISE)


def explain_unavailable(table: MetricTable, session: pd.Timestamp, metric: str) -> Unavailable:
    """The reason `metric` has no value for `session` (assumes it is NaN there)."""
    symbol = table.symbol
    day = session.date().isoformat()
    if session < table.first:
        return Unavailable("before_history", f"{symbol} has no data before {table.first.date()}")
    if session > table.last_date:
        return Unavailable("after_history", f"{symbol} has no data after {table.last_date.date()}")
    if session not in table.frame.index:
        return Unavailable("closed", f"{table.calendar} had no session for {symbol} on {day}")
    row = table.frame.loc[session]
    position = int(table.frame.index.searchsorted(session))
    if pd.isna(row["close"]):
        return Unavailable("missing_session", f"{symbol}: session {day} is missing from the data")
    if metric in ("gap", "intraday", "open") and pd.isna(row["open"]):
        if bool(row["filler"]):
            return Unavailable(
                "filler_open",
                f"{symbol}: the source's open on {day} is a copy of the previous close, "
                "not a print",
            )
        return Unavailable("no_open", f"{symbol}: the source has no opening print for {day}")
    if metric in SPAN_METRICS:
        sessions = SPAN_METRICS[metric]
        if position < sessions:
            return Unavailable(
                "before_history", f"{symbol}: fewer than {sessions} sessions before {day}"
            )
        start = table.frame.index[position - sessions]
        if pd.isna(table.frame["close"].iloc[position - sessions]):
            return Unavailable(
                "missing_previous",
                f"{symbol}: the session {sessions} before {day} ({start.date()}) is missing",
            )
        ends = table.frame["basis"].iloc[[position - sessions, position]]
        if not ends.isna().any():
            return Unavailable(
                "coarse_prices",
                f"{symbol}: prices rounded to the cent are too coarse for a reliable "
                f"{sessions}-session move to {day}",
            )
    if metric in ("pct", "gap", "z", "prev_close") and pd.isna(row["prev_close"]):
        if position == 0 or session == table.first:
            return Unavailable("before_history", f"{symbol}: no session before {day} in the data")
        return Unavailable("missing_previous", f"{symbol}: the session before {day} is missing")
    flag = {"pct": "coarse", "z": "coarse", "gap": "coarse_gap", "intraday": "coarse_intraday"}
    if metric in flag and bool(row[flag[metric]]):
        price = row["close"] if metric in ("pct", "z") else row["open"]
        return Unavailable(
            "coarse_prices",
            f"{symbol}: prices near {price:.2f} rounded to the cent are too coarse "
            f"for a reliable move on {day}",
        )
    if metric in ("vol20", "z"):
        return Unavailable(
            "short_history", f"{symbol}: fewer than {VOL_WINDOW} daily moves before {day}"
        )
    return Unavailable("no_data", f"{symbol}: {metric} is not available for {day}")
