"""Derived daily metrics of one symbol, computed once over its whole history.

All moves are in percent. `pct` compares with the previous session's close on the
return basis (`adj_close` where the file has it, else `close`); `gap` is the open against
the previous close, `intraday` the last against the open, `vol20` the sample standard
deviation of the 20 daily `pct` moves *before* the session, and `z = pct / vol20`.
A metric that cannot be computed is NaN here and is turned into an explicit
`Unavailable` with its reason by `explain_unavailable` — never compared silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain.history import SymbolHistory

VOL_WINDOW = 20
MAX_ROUNDING_NOISE = 0.5
"""Percentage points of possible rounding error above which a move is not trusted."""
FORWARD_HORIZONS = (1, 5, 20)
METRIC_COLUMNS = ("pct", "gap", "intraday", "vol20", "z", "last", "prev_close")


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
    """Columns: open high low close prev_close ref_close last pct gap intraday vol20 z
    plus fwd1 fwd5 fwd20 (forward returns on the return basis)."""
    first: pd.Timestamp
    last_date: pd.Timestamp
    adjusted_levels: bool
    uses_adj_close: bool


def compute_metrics(history: SymbolHistory) -> MetricTable:
    """Vectorised metrics over a symbol's full history."""
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
    opens = frame["open"].astype(float)
    gap = (opens / ref_close - 1.0) * 100.0
    intraday = (close / opens - 1.0) * 100.0
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


def _rounding_noise(basis: pd.Series) -> np.ndarray:
    """Possible rounding error of each price, in percent of it (0 for full-precision prices).

    Old split-adjusted series carry prices such as 0.43 rounded to the cent: a move between
    two of them is uncertain by up to (0.005/p₀ + 0.005/p₁)·100 percentage points.
    """
    values = basis.to_numpy(dtype=float)
    cents = values * 100.0
    with np.errstate(invalid="ignore"):
        rounded = np.abs(cents - np.round(cents)) < 1e-6
    return np.where(rounded, 0.5 / values, 0.0)


def _too_coarse(noise: np.ndarray, lag: int) -> pd.Series:
    """True where a move over `lag` sessions (negative: forward) is within rounding noise."""
    shifted = pd.Series(noise).shift(lag).fillna(0.0).to_numpy()
    return pd.Series((noise + shifted) > MAX_ROUNDING_NOISE)


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
    if metric in ("gap", "intraday") and pd.isna(row["open"]):
        return Unavailable("no_open", f"{symbol}: the source has no opening print for {day}")
    if metric in ("pct", "gap", "z", "prev_close") and pd.isna(row["prev_close"]):
        if position == 0 or session == table.first:
            return Unavailable("before_history", f"{symbol}: no session before {day} in the data")
        return Unavailable("missing_previous", f"{symbol}: the session before {day} is missing")
    if metric in ("pct", "z") and bool(row["coarse"]):
        return Unavailable(
            "coarse_prices",
            f"{symbol}: prices near {row['close']:.2f} rounded to the cent are too coarse "
            f"for a reliable move on {day}",
        )
    if metric in ("vol20", "z"):
        return Unavailable(
            "short_history", f"{symbol}: fewer than {VOL_WINDOW} daily moves before {day}"
        )
    return Unavailable("no_data", f"{symbol}: {metric} is not available for {day}")
