"""Live snapshots: the latest print of each symbol joined with its daily history.

`pct` is the print against the previous session's official close (`pct5`/`pct20` compound it
with the 4/19 sessions before: the close 5/20 sessions back must be known), `vol20` the sample
stdev of the 20 daily moves before the print's session (shipped history plus the
backfilled "Yahoo, live" rows), `z = pct / vol20`. A symbol whose previous session is
not known yet, or whose print is stale, gets explicit `Unavailable` readings: it never
fires a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from bot.domain.calendars import sessions_between
from bot.domain.history import SymbolHistory
from bot.domain.market import MarketData
from bot.domain.markets import (
    calendar_for_symbol,
    market_for_calendar,
    market_for_symbol,
    primary_market,
)
from bot.domain.price_metrics import (
    SPAN_METRICS,
    VOL_WINDOW,
    MetricTable,
    Unavailable,
    compute_metrics,
    span_at_print,
)
from bot.domain.snapshot import Quote, Reading, Snapshot
from bot.feeds.backfill import COLUMNS, PROVENANCE, BackfillCache
from bot.ports import Print

MOVE_METRICS = ("pct", "gap", "intraday", "z", *SPAN_METRICS)


class LiveMarket:
    """Daily tables of the shipped history extended by the backfill cache, and live quotes."""

    def __init__(self, market: MarketData, cache: BackfillCache) -> None:
        self.market = market
        self.cache = cache
        self._tables: dict[str, MetricTable | None] = {}
        self._bases: dict[tuple[str, pd.Timestamp], _Base | None] = {}

    def invalidate(self, symbols: Iterable[str]) -> None:
        """Forget the tables of symbols whose cache grew (recomputed on next use)."""
        for symbol in symbols:
            self._tables.pop(symbol, None)
            for key in [key for key in self._bases if key[0] == symbol]:
                del self._bases[key]

    def last_known(self, symbols: Iterable[str]) -> dict[str, pd.Timestamp | None]:
        """The last session with a close per symbol, shipped or backfilled."""
        found: dict[str, pd.Timestamp | None] = {}
        for symbol in symbols:
            table = self.table(symbol)
            found[symbol] = table.last_date if table is not None else None
        return found

    def table(self, symbol: str) -> MetricTable | None:
        """The symbol's metric table over shipped plus backfilled sessions."""
        if symbol not in self._tables:
            self._tables[symbol] = self._build(symbol)
        return self._tables[symbol]

    def _build(self, symbol: str) -> MetricTable | None:
        shipped = self.market.histories.get(symbol)
        extra = self.cache.rows(symbol)
        if extra.empty:
            return self.market.table(symbol)
        calendar = shipped.calendar if shipped else calendar_for_symbol(symbol)
        base = shipped.frame if shipped is not None else None
        if base is not None:
            extra = extra[extra.index > base["close"].dropna().index[-1]]
        parts = [
            frame for frame in (base, extra.reindex(columns=list(COLUMNS))) if frame is not None
        ]
        data = pd.concat(parts).sort_index()
        data = data[~data.index.duplicated(keep="first")]
        sessions = sessions_between(calendar, data.index[0], data.index[-1])
        frame = data.reindex(sessions).astype("float64")
        path = self.cache.path(symbol) if shipped is None else shipped.path
        history = SymbolHistory(
            symbol,
            path,
            calendar,
            frame,
            tuple(sessions.difference(pd.DatetimeIndex(data.index))),
            shipped.adjusted_levels if shipped is not None else False,
        )
        return compute_metrics(history, self.market.filler_opens.get(symbol, ()))

    def _base(self, symbol: str, session: pd.Timestamp) -> _Base | None:
        """What a print of `session` is joined with, computed once per (symbol, session)."""
        key = (symbol, session)
        if key in self._bases:
            return self._bases[key]
        table = self.table(symbol)
        base = None
        if table is not None:
            market = market_for_calendar(table.calendar)
            previous = market.previous_session(session)
            closes = table.frame["close"]
            prev_close = None
            if previous in closes.index and not pd.isna(closes.loc[previous]):
                prev_close = float(closes.loc[previous])
            history = table.frame.loc[:previous, "pct"].to_numpy(dtype=float)[-VOL_WINDOW:]
            vol: float | None = None
            if len(history) == VOL_WINDOW and not np.isnan(history).any():
                vol = float(np.std(history, ddof=1))
            close_at = market.close_of(session)
            basis = table.frame.loc[:previous, "basis"].to_numpy(dtype=float)
            before = {
                sessions: float(basis[-1] / basis[-sessions])
                if len(basis) >= sessions and not np.isnan(basis[[-1, -sessions]]).any()
                else None
                for sessions in SPAN_METRICS.values()
            }
            base = _Base(previous, prev_close, vol, close_at, before)
        self._bases[key] = base
        return base

    def daily_print(
        self, symbol: str, session: pd.Timestamp, close_at: datetime, source: str
    ) -> Print | None:
        """The session's official daily bar of `symbol` as a regular-session print (None
        when the history has no close for it)."""
        table = self.table(symbol)
        if table is None or session not in table.frame.index:
            return None
        row = table.frame.loc[session]
        if pd.isna(row["close"]):
            return None
        return Print(
            symbol,
            float(row["close"]),
            close_at,
            "regular",
            source,
            open=None if pd.isna(row["open"]) else float(row["open"]),
            high=None if pd.isna(row["high"]) else float(row["high"]),
            low=None if pd.isna(row["low"]) else float(row["low"]),
        )

    def previous_close(self, symbol: str, at: datetime) -> float | None:
        """The official close of the session before the one a print at `at` belongs to."""
        session = market_for_symbol(symbol).session_of(at)
        base = self._base(symbol, session) if session is not None else None
        return base.prev_close if base is not None else None

    def quote(self, latest: Print, now: datetime, stale: str | None = None) -> Quote | Unavailable:
        """The print joined with its daily history; move metrics unavailable when stale."""
        symbol = latest.symbol
        session = market_for_symbol(symbol).session_of(latest.at)
        if session is None:
            return Unavailable("closed", f"{symbol}: {latest.at:%Y-%m-%d} is not a session")
        base = self._base(symbol, session)
        if base is None:
            return Unavailable("no_data", f"no daily history for {symbol}")
        metrics: dict[str, Reading] = {"last": latest.price}
        if latest.basis_close is not None:  # the print's own price basis (intraday bars)
            base = replace(base, prev_close=latest.basis_close)
        if base.prev_close is None:
            missing = Unavailable(
                "missing_previous",
                f"{symbol}: the close of {base.previous.date()} is not known yet "
                "(backfill pending)",
            )
            metrics.update({name: missing for name in (*MOVE_METRICS, "vol20", "prev_close")})
        else:
            metrics.update(_moves(symbol, base, latest))
        if stale is not None:
            reason = Unavailable("stale", stale)
            metrics.update({name: reason for name in (*MOVE_METRICS, "last")})
        return Quote(
            symbol=symbol,
            session=session,
            state="close" if now >= base.close_at else "open",
            as_of=latest.at,
            source=f"{latest.source} ({PROVENANCE})",
            last=latest.price,
            previous_close=base.prev_close,
            open=latest.open,
            high=latest.high,
            low=latest.low,
            metrics=metrics,
            adjusted_levels=False,
        )

    def snapshot(
        self,
        prints: Mapping[str, Print],
        now: datetime,
        *,
        stale: Mapping[str, str] | None = None,
        missing: Mapping[str, str] | None = None,
        extended: Mapping[str, str] | None = None,
    ) -> Snapshot:
        """Every symbol's live quote at `now` (stale ones explained), for NYSE's session."""
        stale = stale or {}
        quotes: dict[str, Quote | Unavailable] = {}
        for symbol, reason in (missing or {}).items():
            quotes[symbol] = Unavailable(reason, f"{symbol}: {reason.replace('_', ' ')}")
        for symbol, latest in prints.items():
            quotes[symbol] = self.quote(latest, now, stale.get(symbol))
        return Snapshot(now, primary_market().reference_session(now), quotes, dict(extended or {}))


@dataclass(frozen=True)
class _Base:
    previous: pd.Timestamp
    prev_close: float | None
    vol20: float | None
    close_at: datetime
    before: dict[int, float | None]
    """N → the return over the N−1 sessions up to the previous one (None: not known)."""


def _moves(symbol: str, base: _Base, latest: Print) -> dict[str, Reading]:
    assert base.prev_close is not None
    prev_close = base.prev_close
    pct = (latest.price / prev_close - 1.0) * 100.0
    moves: dict[str, Reading] = {"prev_close": prev_close, "pct": pct}
    if latest.open:
        moves["gap"] = (latest.open / prev_close - 1.0) * 100.0
        moves["intraday"] = (latest.price / latest.open - 1.0) * 100.0
    else:
        no_open = Unavailable("no_open", f"{symbol}: no opening print yet")
        moves["gap"] = moves["intraday"] = no_open
    if base.vol20 is not None and base.vol20 > 0:
        moves["vol20"] = base.vol20
        moves["z"] = pct / base.vol20
    else:
        moves["vol20"] = moves["z"] = _short(symbol)
    for name, sessions in SPAN_METRICS.items():
        before = base.before.get(sessions)
        moves[name] = (
            span_at_print(pct, before)
            if before is not None
            else Unavailable(
                "missing_previous", f"{symbol}: the close {sessions} sessions back is not known"
            )
        )
    return moves


def _short(symbol: str) -> Unavailable:
    return Unavailable("short_history", f"{symbol}: fewer than {VOL_WINDOW} daily moves known")
