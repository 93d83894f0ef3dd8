"""Backtest a rule over the whole history: every firing session and what followed."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain.market import MarketData
from bot.domain.metrics import FORWARD_HORIZONS
from bot.domain.rules.compiler import evaluate_vector
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import Rule
from bot.domain.symbols import Instrument


class BacktestError(ValueError):
    """A backtest that cannot run (a rule's symbols have no data)."""


@dataclass(frozen=True)
class Firing:
    """One session on which the rule fired."""

    date: pd.Timestamp
    moves: dict[str, float | None]
    forward: dict[str, dict[int, float | None]]
    proxies: dict[str, str]
    """Label → proxy symbol, for inputs a proxy served that day."""


@dataclass(frozen=True)
class HorizonSummary:
    """What followed the firings for one instrument at one horizon."""

    known: int
    rebounds: int
    median: float | None

    @property
    def rebound_share(self) -> float | None:
        """Share of firings followed by a rise (None when nothing is known)."""
        return self.rebounds / self.known if self.known else None


@dataclass(frozen=True)
class Backtest:
    """A rule's firings between two dates, with a summary."""

    rule: Rule
    firings: tuple[Firing, ...]
    sessions_tested: int
    unknown_sessions: int
    """Sessions on which the rule could not be decided (inputs unavailable)."""
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    summary: dict[str, dict[int, HorizonSummary]]


def _instruments(rule: Rule) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for ref in metric_refs(rule.tree):
        found.setdefault(ref.instrument.label, ref.instrument)
    return found


def backtest_index(market: MarketData, instruments: list[Instrument]) -> pd.DatetimeIndex:
    """Sessions on which at least one of the instruments (or a proxy) has a close."""
    index = pd.DatetimeIndex([])
    for instrument in instruments:
        for symbol in (instrument.symbol, instrument.proxy):
            if symbol and market.has(symbol):
                index = index.union(market.sessions(symbol))
    return index


def run_backtest(
    market: MarketData,
    rule: Rule,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> Backtest:
    """Evaluate `rule` on every session in [start, end] (inclusive) of the history."""
    instruments = _instruments(rule)
    absent = [
        label
        for label, inst in instruments.items()
        if not market.has(inst.symbol) and not (inst.proxy and market.has(inst.proxy))
    ]
    if absent:
        raise BacktestError(
            f"no data for {', '.join(absent)} (no file for the symbol or its proxy)"
        )
    index = backtest_index(market, list(instruments.values()))
    if start is not None:
        index = index[index >= start]
    if end is not None:
        index = index[index <= end]
    columns = {}
    for ref in metric_refs(rule.tree):
        key = (ref.instrument.key, ref.metric)
        if key not in columns:
            columns[key] = market.column(ref.instrument, ref.metric, index).values
    truth = evaluate_vector(rule.tree, columns)
    value = np.broadcast_to(truth.value, index.shape)
    known = np.broadcast_to(truth.known, index.shape)
    hits = np.flatnonzero(value & known)
    moves = {label: market.column(inst, "pct", index) for label, inst in instruments.items()}
    forward = {
        label: {h: market.column(inst, f"fwd{h}", index).values for h in FORWARD_HORIZONS}
        for label, inst in instruments.items()
    }
    firings = tuple(
        Firing(
            date=pd.Timestamp(index[int(i)]),
            moves={label: _num(column.values[i]) for label, column in moves.items()},
            forward={
                label: {h: _num(values[i]) for h, values in horizons.items()}
                for label, horizons in forward.items()
            },
            proxies={
                label: str(instruments[label].proxy)
                for label, column in moves.items()
                if column.via_proxy[i]
            },
        )
        for i in hits
    )
    return Backtest(
        rule=rule,
        firings=firings,
        sessions_tested=len(index),
        unknown_sessions=int((~known).sum()),
        first=index[0] if len(index) else None,
        last=index[-1] if len(index) else None,
        summary=_summarise(firings, list(instruments)),
    )


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _summarise(
    firings: tuple[Firing, ...], labels: list[str]
) -> dict[str, dict[int, HorizonSummary]]:
    summary: dict[str, dict[int, HorizonSummary]] = {}
    for label in labels:
        summary[label] = {}
        for horizon in FORWARD_HORIZONS:
            values = [f.forward[label][horizon] for f in firings]
            known = [v for v in values if v is not None]
            summary[label][horizon] = HorizonSummary(
                known=len(known),
                rebounds=sum(1 for v in known if v > 0),
                median=statistics.median(known) if known else None,
            )
    return summary
