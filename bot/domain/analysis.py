"""Shock analysis: one symbol's session next to the benchmarks, the presets it trips,
the most similar past sessions (by the cross-section of moves) and what followed them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain.market import MarketData
from bot.domain.metrics import FORWARD_HORIZONS, Unavailable
from bot.domain.rules.evaluate import CompiledRules, RuleOutcome
from bot.domain.snapshot import Quote, Resolved, Snapshot
from bot.domain.symbols import Instrument

BENCHMARKS = ("SOX", "SPX", "COMP", "DJI")
CHART_BEFORE, CHART_AFTER = 50, 10


@dataclass(frozen=True)
class SimilarSession:
    """A past session whose cross-section of moves was close to the shock's."""

    date: pd.Timestamp
    distance: float
    moves: dict[str, float]
    """Label (naming a proxy where one served, e.g. `SPX (SPY)`) → move in percent."""
    forward: dict[int, float | None]
    """The subject's return 1, 5 and 20 sessions later (percent)."""


@dataclass(frozen=True)
class ComparisonRow:
    """One instrument on the session: move, gap, z, and the move relative to SOX."""

    pct: Resolved
    gap: Resolved
    z: Resolved
    vs_sox: float | None


@dataclass(frozen=True)
class ShockReport:
    """Everything `/shock SYMBOL DATE` shows, platform-neutral and unformatted."""

    subject: Instrument
    session: pd.Timestamp
    snapshot: Snapshot
    quote: Quote
    metrics: dict[str, Resolved]
    rows: list[ComparisonRow]
    """The subject first, then SOX, the S&P 500, the Nasdaq and the Dow (proxies named)."""
    outcomes: list[RuleOutcome]
    similar: list[SimilarSession]
    forward: dict[int, float | None]
    """What followed this session for the subject (None past the end of the history)."""

    @property
    def fired(self) -> list[RuleOutcome]:
        """Every preset that fired on this session."""
        return [outcome for outcome in self.outcomes if outcome.fired]

    @property
    def fired_on_subject(self) -> list[RuleOutcome]:
        """Fired presets that read the subject itself (these set the card's severity)."""
        symbols = {self.subject.symbol, self.subject.proxy}
        return [
            outcome
            for outcome in self.fired
            if any(item.instrument.symbol in symbols for item in outcome.inputs)
        ]

    @property
    def fired_on_market(self) -> list[RuleOutcome]:
        """Fired presets about the rest of the market on the same session."""
        own = self.fired_on_subject
        return [outcome for outcome in self.fired if outcome not in own]


def analysis_sessions(market: MarketData, subject: Instrument) -> pd.DatetimeIndex:
    """Sessions on which both the subject and SOX have a close."""
    sox = market.symbols.resolve("SOX")
    own = market.sessions(subject.symbol)
    if subject.proxy and len(own) == 0:
        own = market.sessions(subject.proxy)
    return own.intersection(market.sessions(sox.symbol))


def _row(snapshot: Snapshot, instrument: Instrument, sox: float | None) -> ComparisonRow:
    pct = snapshot.read(instrument, "pct")
    own = pct.number
    relative = own - sox if own is not None and sox is not None else None
    return ComparisonRow(
        pct, snapshot.read(instrument, "gap"), snapshot.read(instrument, "z"), relative
    )


def analyse_shock(
    market: MarketData,
    presets: CompiledRules,
    subject: Instrument,
    session: pd.Timestamp,
    similar_count: int = 3,
) -> ShockReport:
    """Build the report for a session the caller already validated."""
    snapshot = market.snapshot(session, "close")
    reading = snapshot.read(subject, "pct")
    quote = snapshot.quote(reading.symbol)
    if isinstance(quote, Unavailable):
        raise ValueError(f"no quote for {subject.label} on {session.date()}: {quote}")
    metrics = {
        name: snapshot.read(subject, name) for name in ("pct", "gap", "intraday", "z", "vol20")
    }
    sox = snapshot.read(market.symbols.resolve("SOX"), "pct").number
    others = [market.symbols.resolve(name) for name in BENCHMARKS]
    rows = [_row(snapshot, subject, sox)]
    rows += [_row(snapshot, inst, sox) for inst in others if inst.key != subject.key]
    table = market.table(reading.symbol)
    forward: dict[int, float | None] = {h: None for h in FORWARD_HORIZONS}
    if table is not None and session in table.frame.index:
        for horizon in FORWARD_HORIZONS:
            value = float(table.frame[f"fwd{horizon}"].loc[session])
            forward[horizon] = None if np.isnan(value) else value
    return ShockReport(
        subject=subject,
        session=session,
        snapshot=snapshot,
        quote=quote,
        metrics=metrics,
        rows=rows,
        outcomes=presets.evaluate(snapshot),
        similar=similar_sessions(market, subject, session, similar_count),
        forward=forward,
    )


def similar_sessions(
    market: MarketData, subject: Instrument, session: pd.Timestamp, count: int = 3
) -> list[SimilarSession]:
    """The `count` earlier sessions nearest to `session` in (subject, SOX, SPX, COMP, DJI)
    daily moves — Euclidean distance in percentage points; ties go to the later session.
    Only sessions with every one of those moves known are compared."""
    instruments = [subject] + [
        inst for inst in (market.symbols.resolve(n) for n in BENCHMARKS) if inst.key != subject.key
    ]
    index = analysis_sessions(market, subject)
    index = index[index <= session]
    if len(index) < 2:
        return []
    columns = [market.column(inst, "pct", index) for inst in instruments]
    matrix = np.column_stack([column.values for column in columns])
    target = matrix[-1]
    usable = ~np.isnan(target)
    if not usable[0]:
        return []
    past = matrix[:-1][:, usable]
    complete = ~np.isnan(past).any(axis=1)
    distance = np.sqrt(((past - target[usable]) ** 2).sum(axis=1))
    distance[~complete] = np.inf
    order = sorted(
        (i for i in range(len(distance)) if np.isfinite(distance[i])),
        key=lambda i: (distance[i], -i),
    )[:count]
    forward = {h: market.column(subject, f"fwd{h}", index[:-1]).values for h in FORWARD_HORIZONS}
    kept = [
        (inst, col) for inst, col, keep in zip(instruments, columns, usable, strict=True) if keep
    ]
    return [
        SimilarSession(
            date=pd.Timestamp(index[i]),
            distance=float(distance[i]),
            moves={
                _label(inst, bool(col.via_proxy[i])): float(value)
                for (inst, col), value in zip(kept, past[i], strict=True)
            },
            forward={h: None if np.isnan(v[i]) else float(v[i]) for h, v in forward.items()},
        )
        for i in order
    ]


def _label(instrument: Instrument, via_proxy: bool) -> str:
    return f"{instrument.label} ({instrument.proxy})" if via_proxy else instrument.label


def chart_series(
    market: MarketData, instruments: Sequence[Instrument], session: pd.Timestamp
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Closes around the session for a chart, and proxy symbol → the index it stands for."""
    series: dict[str, pd.Series] = {}
    notes: dict[str, str] = {}
    for instrument in instruments:
        symbol = instrument.symbol if market.has(instrument.symbol) else instrument.proxy
        table = market.table(symbol) if symbol else None
        if symbol is None or table is None or session not in table.frame.index:
            continue
        position = int(table.frame.index.searchsorted(session))
        window = table.frame.iloc[max(0, position - CHART_BEFORE) : position + CHART_AFTER + 1]
        label = instrument.label
        if symbol != instrument.symbol:
            label = f"{symbol}"
            notes[symbol] = instrument.label
        series[label] = window["close"]
    return series, notes
