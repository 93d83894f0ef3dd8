"""Backtest a rule over the whole history: every firing session and what followed.

A rule is evaluated as the market stood at each session's close (`at="close"`), or at its
open (`at="open"`: every move is the gap, on sessions whose opening print is known). Each
firing records every metric the rule read, as evaluated, with the thresholds it was compared
against, and the series that served it (a proxy is named).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from bot.domain.market import Column, MarketData
from bot.domain.price_metrics import FORWARD_HORIZONS, SPAN_METRICS, span_at_print
from bot.domain.rules.compiler import evaluate_vector
from bot.domain.rules.parser import (
    Arithmetic,
    Call,
    Compare,
    Logic,
    MetricRef,
    Negate,
    Node,
    Not,
    Number,
    metric_refs,
)
from bot.domain.rules.presets import Rule
from bot.domain.symbols import Instrument

At = Literal["close", "open"]


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
    inputs: dict[str, float | None] = field(default_factory=dict)
    """`LABEL.metric` → the value the rule read that session (None: unavailable)."""


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
    at: At = "close"
    inputs: tuple[str, ...] = ()
    """The `LABEL.metric` inputs the rule reads, once each, in source order."""
    thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """`LABEL.metric` → the constants the rule compares it with directly."""
    sources: tuple[str, ...] = ()
    """The series actually read (a proxy only where it served), once each."""


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
    at: At = "close",
) -> Backtest:
    """Evaluate `rule` on every session in [start, end] (inclusive) of the history, as the
    market stood at each close (or, `at="open"`, at each opening print)."""
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
    sources: dict[str, None] = {}
    columns: dict[tuple[str, str], np.ndarray] = {}
    inputs: dict[str, Column] = {}
    for ref in metric_refs(rule.tree):
        key = (ref.instrument.key, ref.metric)
        if key not in columns:
            column = stage_column(market, ref.instrument, ref.metric, index, at)
            columns[key] = column.values
            inputs[_input_name(ref)] = column
            _note_sources(sources, ref.instrument, column)
    truth = evaluate_vector(rule.tree, columns)
    value = np.broadcast_to(truth.value, index.shape)
    known = np.broadcast_to(truth.known, index.shape)
    hits = np.flatnonzero(value & known)
    moves = {label: market.column(inst, "pct", index) for label, inst in instruments.items()}
    for label, column in moves.items():
        _note_sources(sources, instruments[label], column, hits)
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
            inputs={name: _num(column.values[i]) for name, column in inputs.items()},
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
        at=at,
        inputs=tuple(inputs),
        thresholds=rule_thresholds(rule.tree),
        sources=tuple(sources),
    )


def stage_column(
    market: MarketData, instrument: Instrument, metric: str, index: pd.DatetimeIndex, at: At
) -> Column:
    """A metric as a rule reads it at each session's close, or at its open (where every
    move is the gap, `intraday` is 0 and `last` is the opening print)."""
    if at == "close":
        return market.column(instrument, metric, index)
    if metric in ("pct", "gap"):
        return market.column(instrument, "gap", index)
    if metric in SPAN_METRICS:
        gap = market.column(instrument, "gap", index)
        before = market.column(instrument, f"pre{SPAN_METRICS[metric]}", index).values
        return Column(span_at_print(gap.values, before), gap.via_proxy)
    if metric == "z":
        gap = market.column(instrument, "gap", index)
        vol = market.column(instrument, "vol20", index).values
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(vol > 0, gap.values / vol, np.nan)
        return Column(values, gap.via_proxy)
    if metric in ("intraday", "last"):
        opening = market.column(instrument, "open", index)
        values = (
            opening.values if metric == "last" else np.where(np.isnan(opening.values), np.nan, 0.0)
        )
        return Column(values, opening.via_proxy)
    return market.column(instrument, metric, index)


def _input_name(ref: MetricRef) -> str:
    return f"{ref.instrument.label}.{ref.metric}"


def _note_sources(
    found: dict[str, None],
    instrument: Instrument,
    column: Column,
    rows: np.ndarray | None = None,
) -> None:
    """Record the series that actually served a column (only `rows`, when given)."""
    values, via = column.values, column.via_proxy
    if rows is not None:
        values, via = values[rows], via[rows]
    if (~np.isnan(values) & ~via).any():
        found.setdefault(instrument.symbol, None)
    if instrument.proxy and via.any():
        found.setdefault(instrument.proxy, None)


def rule_thresholds(tree: Node) -> dict[str, tuple[float, ...]]:
    """`LABEL.metric` → the constants a comparison sets it against directly
    (`DJI.pct > 0` gives `{"DJI.pct": (0.0,)}`; `NVDA.pct - SOX.pct <= -5` gives nothing)."""
    found: dict[str, list[float]] = {}

    def constant(node: Node) -> float | None:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Negate):
            inner = constant(node.operand)
            return -inner if inner is not None else None
        return None

    def visit(node: Node) -> None:
        if isinstance(node, Compare):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                limit = constant(other)
                if isinstance(side, MetricRef) and limit is not None:
                    found.setdefault(_input_name(side), []).append(limit)
        for child in _children(node):
            visit(child)

    visit(tree)
    return {name: tuple(values) for name, values in found.items()}


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Negate | Not):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Arithmetic | Compare):
        return (node.left, node.right)
    return ()


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
