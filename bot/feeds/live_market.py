"""Live snapshots: the latest print of each symbol joined with its daily history.

`pct` is the print against the previous session's official close, `vol20` the sample
stdev of the 20 daily moves before the print's session (shipped history plus the
backfilled "Yahoo, live" rows), `z = pct / vol20`. A symbol whose previous session is
not known yet, or whose print is stale, gets explicit `Unavailable` readings: it never
fires a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from bot.domain.history import SymbolHistory
from bot.domain.market import MarketData
from bot.domain.metrics import VOL_WINDOW, MetricTable, Unavailable, compute_metrics
from bot.domain.snapshot import Quote, Reading, Snapshot
from bot.feeds.backfill import COLUMNS, PROVENANCE, BackfillCache
from bot.feeds.calendar import NYSE, calendar_for_symbol, session_calendar, sessions_between
from bot.ports import Print

MOVE_METRICS = ("pct", "gap", "intraday", "z")


def session_of(symbol: str, moment: datetime) -> pd.Timestamp | None:
    """The symbol's session a print at `moment` belongs to (its local date, if a session)."""
    calendar = session_calendar(calendar_for_symbol(symbol))
    day = pd.Timestamp(moment).tz_convert(calendar.tz).normalize().tz_localize(None)
    return day if calendar.is_session(day) else None


def reference_session(moment: datetime) -> pd.Timestamp:
    """The NYSE session a moment is watched for: today's if today is one, else the last."""
    calendar = session_calendar(NYSE)
    day = pd.Timestamp(moment).tz_convert(calendar.tz).normalize().tz_localize(None)
    if calendar.is_session(day):
        return day
    return pd.Timestamp(calendar.date_to_session(day, direction="previous"))


class LiveMarket:
    """Daily tables of the shipped history extended by the backfill cache, and live quotes."""

    def __init__(self, market: MarketData, cache: BackfillCache) -> None:
        self.market = market
        self.cache = cache
        self._tables: dict[str, MetricTable | None] = {}

    def invalidate(self, symbols: Iterable[str]) -> None:
        """Forget the tables of symbols whose cache grew (recomputed on next use)."""
        for symbol in symbols:
            self._tables.pop(symbol, None)

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

    def previous_close(self, symbol: str, at: datetime) -> float | None:
        """The official close of the session before the one a print at `at` belongs to."""
        table = self.table(symbol)
        session = session_of(symbol, at)
        if table is None or session is None:
            return None
        previous = pd.Timestamp(session_calendar(table.calendar).previous_session(session))
        closes = table.frame["close"]
        if previous not in closes.index or pd.isna(closes.loc[previous]):
            return None
        return float(closes.loc[previous])

    def quote(self, latest: Print, now: datetime, stale: str | None = None) -> Quote | Unavailable:
        """The print joined with its daily history; move metrics unavailable when stale."""
        symbol = latest.symbol
        table = self.table(symbol)
        if table is None:
            return Unavailable("no_data", f"no daily history for {symbol}")
        session = session_of(symbol, latest.at)
        if session is None:
            return Unavailable("closed", f"{symbol}: {latest.at:%Y-%m-%d} is not a session")
        calendar = session_calendar(table.calendar)
        previous = pd.Timestamp(calendar.previous_session(session))
        frame = table.frame
        metrics: dict[str, Reading] = {"last": latest.price}
        closes = frame["close"]
        known = previous in frame.index and not pd.isna(closes.loc[previous])
        if not known:
            missing = Unavailable(
                "missing_previous",
                f"{symbol}: the close of {previous.date()} is not known yet (backfill pending)",
            )
            metrics.update({name: missing for name in (*MOVE_METRICS, "vol20", "prev_close")})
        else:
            prev_close = float(closes.loc[previous])
            metrics.update(self._moves(table, previous, prev_close, latest))
        if stale is not None:
            reason = Unavailable("stale", stale)
            metrics.update({name: reason for name in (*MOVE_METRICS, "last")})
        closed = pd.Timestamp(now) >= pd.Timestamp(calendar.session_close(session))
        return Quote(
            symbol=symbol,
            session=session,
            state="close" if closed else "open",
            as_of=latest.at,
            source=f"{latest.source} ({PROVENANCE})",
            last=latest.price,
            previous_close=_reading(metrics.get("prev_close")),
            open=latest.open,
            high=latest.high,
            low=latest.low,
            metrics=metrics,
            adjusted_levels=False,
        )

    def _moves(
        self, table: MetricTable, previous: pd.Timestamp, prev_close: float, latest: Print
    ) -> dict[str, Reading]:
        symbol = table.symbol
        moves: dict[str, Reading] = {"prev_close": prev_close}
        pct = (latest.price / prev_close - 1.0) * 100.0
        moves["pct"] = pct
        if latest.open:
            moves["gap"] = (latest.open / prev_close - 1.0) * 100.0
            moves["intraday"] = (latest.price / latest.open - 1.0) * 100.0
        else:
            no_open = Unavailable("no_open", f"{symbol}: no opening print yet")
            moves["gap"] = moves["intraday"] = no_open
        history = table.frame.loc[:previous, "pct"].to_numpy(dtype=float)[-VOL_WINDOW:]
        if len(history) == VOL_WINDOW and not np.isnan(history).any():
            vol = float(np.std(history, ddof=1))
            moves["vol20"] = vol
            moves["z"] = pct / vol if vol > 0 else _short(symbol)
        else:
            moves["vol20"] = moves["z"] = _short(symbol)
        return moves

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
        return Snapshot(now, reference_session(now), quotes, dict(extended or {}))


def _short(symbol: str) -> Unavailable:
    return Unavailable("short_history", f"{symbol}: fewer than {VOL_WINDOW} daily moves known")


def _reading(value: Reading | None) -> float | None:
    return value if isinstance(value, float) else None
