"""Shock analysis: one symbol's session next to the benchmarks, the presets it trips,
the most similar past sessions (by the cross-section of moves) and what followed them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain.benchmarks import (
    benchmarks_of,
    primary_sessions_between,
    subject_calendar,
    window_moves,
    windowed,
)
from bot.domain.calendars import session_calendar
from bot.domain.market import MarketData
from bot.domain.markets import market_for_calendar, markets, primary_market
from bot.domain.price_metrics import FORWARD_HORIZONS, Unavailable
from bot.domain.rules.evaluate import CompiledRules, RuleOutcome
from bot.domain.severity import TIER_RANKS as TIER_RANKS
from bot.domain.severity import card_tier as card_tier
from bot.domain.severity import loudest as loudest
from bot.domain.severity import own_move_tier as own_move_tier
from bot.domain.snapshot import Quote, Resolved, Snapshot
from bot.domain.symbols import Instrument

CHART_BEFORE, CHART_AFTER = 50, 10
MIN_SIMILAR_POOL = 60
"""Fewer earlier comparable sessions than this: too few to pick similar ones from."""


@dataclass(frozen=True)
class SimilarSession:
    """A past session whose cross-section of moves was close to the shock's."""

    date: pd.Timestamp
    distance: float
    moves: dict[str, float]
    """Label (naming a proxy where one served, e.g. `SPX (SPY)`) → move in percent."""
    forward: dict[int, float | None]
    """The subject's return 1, 5 and 20 sessions later (percent)."""
    symbols: tuple[str, ...] = ()
    """The series read for this session's moves."""


@dataclass(frozen=True)
class ComparisonRow:
    """One instrument on the session: move, gap, z, and the move relative to the first
    benchmark (`vs_sox`: SOX for New York and Seoul, the Nikkei for Tokyo)."""

    pct: Resolved
    gap: Resolved
    z: Resolved
    vs_sox: float | None


@dataclass(frozen=True)
class ShockReport:
    """Everything `/shock SYMBOL DATE` shows, platform-neutral and unformatted."""

    subject: Instrument
    session: pd.Timestamp
    market_sessions: pd.DatetimeIndex
    """The default market's sessions the benchmarks cover: the session itself for a US
    subject; for a Korean one, the US sessions that closed since its previous close (what
    Seoul reacts to)."""
    quote: Quote
    metrics: dict[str, Resolved]
    rows: list[ComparisonRow]
    """The subject first, then SOX, the S&P 500, the Nasdaq and the Dow (proxies named)."""
    outcomes: list[RuleOutcome]
    similar: list[SimilarSession]
    forward: dict[int, float | None]
    """What followed this session for the subject (None past the end of the history)."""
    similar_pool: int = 0
    """How many earlier sessions had every move known (below `MIN_SIMILAR_POOL`: too few
    to call any of them similar)."""
    reference: str = "SOX"
    """The label of the first benchmark, which `vs_sox` is measured against."""
    windowed: bool = False
    """True when some benchmark is read over the US sessions since the previous close."""

    @property
    def sources(self) -> list[str]:
        """The series actually read for the card's figures, once each, sorted."""
        found = {self.quote.symbol}
        for row in self.rows:
            found |= {item.symbol for item in (row.pct, row.gap, row.z) if item.number is not None}
        for day in self.similar:
            found |= set(day.symbols)
        return sorted(found)

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
    """Sessions /shock can explain: a US subject's sessions that SOX also has; all of a
    foreign subject's own sessions (its benchmarks are the US sessions before it)."""
    own = market.sessions(subject.symbol)
    if subject.proxy:  # the proxy serves the sessions the index has no data for
        own = own.union(market.sessions(subject.proxy))
    if subject_calendar(market, subject) != primary_market().calendar:
        return own
    return own.intersection(market.sessions(market.symbols.resolve("SOX").symbol))


def _benchmark_rows(
    market: MarketData, calendar: str, session: pd.Timestamp, window: pd.DatetimeIndex
) -> list[ComparisonRow]:
    instruments = benchmarks_of(market, calendar)
    if calendar == primary_market().calendar:
        snapshot = market.snapshot(window[0], "close")
        sox = snapshot.read(instruments[0], "pct").number
        return [_row(snapshot, instrument, sox) for instrument in instruments]
    spans = f"{len(window)} US sessions" if len(window) else "no US session"
    reason = Unavailable("window", f"the move spans {spans}")
    close = pd.Timestamp(market_for_calendar(calendar).close_of(session))
    rows = []
    for instrument in instruments:
        if not windowed(market, calendar, instrument):  # the same session, at its close
            found = market.quote_at(instrument.symbol, close.to_pydatetime(), session)
            read = {
                name: Resolved(
                    instrument,
                    name,
                    found.metric(name) if isinstance(found, Quote) else found,
                    instrument.symbol,
                )
                for name in ("pct", "gap", "z")
            }
            rows.append(ComparisonRow(read["pct"], read["gap"], read["z"], None))
            continue
        values, via = window_moves(market, instrument, calendar, pd.DatetimeIndex([session]))
        symbol = instrument.proxy if via[0] and instrument.proxy else instrument.symbol
        value: float | Unavailable = float(values[0]) if not np.isnan(values[0]) else reason
        pct = Resolved(instrument, "pct", value, symbol)
        rows.append(
            ComparisonRow(
                pct,
                Resolved(instrument, "gap", reason, symbol),
                Resolved(instrument, "z", reason, symbol),
                None,
            )
        )
    sox = rows[0].pct.number
    return [ComparisonRow(row.pct, row.gap, row.z, _minus(row.pct.number, sox)) for row in rows]


def _minus(value: float | None, other: float | None) -> float | None:
    return value - other if value is not None and other is not None else None


def _row(snapshot: Snapshot, instrument: Instrument, sox: float | None) -> ComparisonRow:
    pct = snapshot.read(instrument, "pct")
    return ComparisonRow(
        pct,
        snapshot.read(instrument, "gap"),
        snapshot.read(instrument, "z"),
        _minus(pct.number, sox),
    )


def _window_outcomes(
    market: MarketData, presets: CompiledRules, window: pd.DatetimeIndex
) -> list[RuleOutcome]:
    """Every preset's outcome over the window: a firing (the loudest) wins over a miss."""
    best: dict[str, RuleOutcome] = {}
    for day in window:
        for outcome in presets.evaluate(market.snapshot(day, "close")):
            held = best.get(outcome.rule.id)
            louder = (
                held is None
                or (outcome.fired and not held.fired)
                or (
                    outcome.fired
                    and held.tier
                    and outcome.tier
                    and outcome.tier.rank > held.tier.rank
                )
            )
            if louder:
                best[outcome.rule.id] = outcome
    return list(best.values())


def _outcomes(
    market: MarketData,
    presets: CompiledRules,
    calendar: str,
    session: pd.Timestamp,
    window: pd.DatetimeIndex,
) -> list[RuleOutcome]:
    """The default market's presets over `window`; a foreign subject's own market's presets
    on its own session instead of over the window."""
    outcomes = _window_outcomes(market, presets, window)
    if calendar == primary_market().calendar:
        return outcomes
    own = _own_market_outcomes(market, presets, calendar, session)
    mine = {outcome.rule.id for outcome in own}
    return [outcome for outcome in outcomes if outcome.rule.id not in mine] + own


def _own_market_outcomes(
    market: MarketData, presets: CompiledRules, calendar: str, session: pd.Timestamp
) -> list[RuleOutcome]:
    """The outcomes of the presets that read only `calendar`'s market (Tokyo's presets for a
    Tokyo subject), on that market's own session."""
    book = markets()
    evaluated = presets.evaluate(market.snapshot(session, "close"))
    return [outcome for outcome in evaluated if book.rule_market(outcome.rule).calendar == calendar]


def analyse_shock(
    market: MarketData,
    presets: CompiledRules,
    subject: Instrument,
    session: pd.Timestamp,
    similar_count: int = 3,
) -> ShockReport:
    """Build the report for a session the caller already validated."""
    calendar = subject_calendar(market, subject)
    names = ("pct", "gap", "intraday", "z", "vol20")
    if calendar == primary_market().calendar:
        snapshot = market.snapshot(session, "close")
        metrics = {name: snapshot.read(subject, name) for name in names}
        found = snapshot.quote(metrics["pct"].symbol)
    else:
        moment = market_for_calendar(calendar).close_of(session)
        found = market.quote_at(subject.symbol, moment, session)
        metrics = {
            name: Resolved(subject, name, found.metric(name), subject.symbol)
            for name in names
            if isinstance(found, Quote)
        }
    if isinstance(found, Unavailable):
        raise ValueError(f"no quote for {subject.label} on {session.date()}: {found}")
    window = primary_sessions_between(calendar, session)
    rows = _benchmark_rows(market, calendar, session, window)
    own = ComparisonRow(
        metrics["pct"],
        metrics["gap"],
        metrics["z"],
        _minus(metrics["pct"].number, rows[0].pct.number),
    )
    rows = [own, *[row for row in rows if row.pct.instrument.key != subject.key]]
    table = market.table(metrics["pct"].symbol)
    forward: dict[int, float | None] = {h: None for h in FORWARD_HORIZONS}
    if table is not None and session in table.frame.index:
        for horizon in FORWARD_HORIZONS:
            value = float(table.frame[f"fwd{horizon}"].loc[session])
            forward[horizon] = None if np.isnan(value) else value
    similar, pool = _similar(market, subject, session, similar_count)
    benchmarks = benchmarks_of(market, calendar)
    return ShockReport(
        subject=subject,
        session=session,
        market_sessions=window,
        quote=found,
        metrics=metrics,
        rows=rows,
        outcomes=_outcomes(market, presets, calendar, session, window),
        similar=similar,
        forward=forward,
        similar_pool=pool,
        reference=benchmarks[0].label,
        windowed=any(windowed(market, calendar, inst) for inst in benchmarks),
    )


def similar_sessions(
    market: MarketData, subject: Instrument, session: pd.Timestamp, count: int = 3
) -> list[SimilarSession]:
    """The `count` earlier sessions most like `session` (see `_similar`)."""
    return _similar(market, subject, session, count)[0]


def _similar(
    market: MarketData, subject: Instrument, session: pd.Timestamp, count: int = 3
) -> tuple[list[SimilarSession], int]:
    """The `count` earlier sessions nearest to `session` in (subject, SOX, SPX, COMP, DJI)
    moves — Euclidean distance in percentage points, closer than a flat day would be; ties
    go to the later session. For a
    foreign subject the benchmarks' moves are those of the US sessions behind each session.
    Only sessions with every one of those moves known are compared, and only when there are
    at least `MIN_SIMILAR_POOL` of them; a match must move the subject the same way by at
    least half as much (like with like: a −2.66 % day is not like a −9.86 % one). Also
    returns how many sessions were comparable."""
    calendar = subject_calendar(market, subject)
    instruments = [subject] + [
        inst for inst in benchmarks_of(market, calendar) if inst.key != subject.key
    ]
    index = analysis_sessions(market, subject)
    index = index[index <= session]
    if len(index) < 2:
        return [], 0
    own = market.column(subject, "pct", index)
    columns = [(own.values, own.via_proxy)]
    for inst in instruments[1:]:
        if windowed(market, calendar, inst):
            columns.append(window_moves(market, inst, calendar, index))
        else:  # the same sessions (or the same dates, on a neighbouring calendar)
            same = market.column(inst, "pct", index)
            columns.append((same.values, same.via_proxy))
    matrix = np.column_stack([values for values, _ in columns])
    target = matrix[-1]
    usable = ~np.isnan(target)
    if not usable[0]:
        return [], 0
    past = matrix[:-1][:, usable]
    complete = ~np.isnan(past).any(axis=1)
    pool = int(complete.sum())
    if pool < MIN_SIMILAR_POOL:
        return [], pool
    distance = np.sqrt(((past - target[usable]) ** 2).sum(axis=1))
    distance[~complete] = np.inf
    subject_moves = past[:, 0]
    alike = (np.sign(subject_moves) == np.sign(target[0])) & (
        np.abs(subject_moves) >= 0.5 * abs(target[0])
    )
    distance[~alike] = np.inf
    # A match must be closer than a flat day (all moves 0) would be: otherwise it is not alike.
    distance[distance >= np.sqrt((target[usable] ** 2).sum())] = np.inf
    order = sorted(
        (i for i in range(len(distance)) if np.isfinite(distance[i])),
        key=lambda i: (distance[i], -i),
    )[:count]
    forward = {h: market.column(subject, f"fwd{h}", index[:-1]).values for h in FORWARD_HORIZONS}
    kept = [
        (inst, via)
        for inst, (_, via), keep in zip(instruments, columns, usable, strict=True)
        if keep
    ]
    found = [
        SimilarSession(
            date=pd.Timestamp(index[i]),
            distance=float(distance[i]),
            moves={
                _label(inst, bool(via[i])): float(value)
                for (inst, via), value in zip(kept, past[i], strict=True)
            },
            forward={h: None if np.isnan(v[i]) else float(v[i]) for h, v in forward.items()},
            symbols=tuple(
                str(inst.proxy) if via[i] and inst.proxy else inst.symbol for inst, via in kept
            ),
        )
        for i in order
    ]
    return found, pool


def _label(instrument: Instrument, via_proxy: bool) -> str:
    return f"{instrument.label} (proxy {instrument.proxy})" if via_proxy else instrument.label


def chart_series(
    market: MarketData,
    instruments: Sequence[Instrument],
    session: pd.Timestamp,
    *,
    after: int = CHART_AFTER,
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Closes around the session on the subject's (first instrument's) sessions, and proxy
    symbol → the index it stands for. Other markets' closes are the last ones known at each
    of the subject's closes, so a Korean subject is drawn against what Seoul had seen.

    `after` sessions follow the session; `after=-1` ends the window just before it (an
    alert's chart, which must not show what came after its print)."""
    series: dict[str, pd.Series] = {}
    notes: dict[str, str] = {}
    subject = instruments[0]
    first = session - pd.Timedelta(days=10) if after < 0 else session
    own = _series_symbol(market, subject, first, session)
    table = market.table(own) if own else None
    if table is None or (after >= 0 and session not in table.frame.index):
        return series, notes
    subject_index = table.frame.index
    position = int(subject_index.searchsorted(session))
    window = subject_index[max(0, position - CHART_BEFORE) : position + after + 1]
    if len(window) == 0:
        return series, notes
    calendar = subject_calendar(market, subject)
    _, subject_closes = market_for_calendar(calendar).close_bounds(pd.DatetimeIndex(window))
    for instrument in instruments:
        symbol = _series_symbol(market, instrument, window[0], window[-1])
        if symbol is None:
            continue
        other = market.table(symbol)
        assert other is not None
        schedule = session_calendar(other.calendar).schedule
        closes = other.frame["close"].reindex(schedule.index).to_numpy()
        known = np.searchsorted(schedule["close"].to_numpy(), subject_closes, side="right") - 1
        values = np.where(known >= 0, closes[np.maximum(known, 0)], np.nan)
        label = instrument.label
        if symbol != instrument.symbol:
            label = symbol
            notes[symbol] = instrument.label
        series[label] = pd.Series(values, index=window, dtype=float)
    return series, notes


def _series_symbol(
    market: MarketData, instrument: Instrument, first: pd.Timestamp, last: pd.Timestamp
) -> str | None:
    """The instrument's own series if it has closes in [first, last], else its proxy's if
    that has some; None when neither does (the chart then leaves the series out)."""
    for symbol in (instrument.symbol, instrument.proxy):
        if symbol:
            sessions = market.sessions(symbol)
            if ((sessions >= first) & (sessions <= last)).any():
                return symbol
    return None
