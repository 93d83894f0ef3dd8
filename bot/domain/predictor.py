"""An overseas preset judged as a predictor of the New York session it leads into.

The preset runs over every session of its own market (at its close, or at its opening print
when it reads only opening gaps); each firing is paired with the home session it leads into
(`bot/domain/pairing.py`). Precision: of the firings whose home session is known, the share
that led into a session with the target (SOX) at or below `hit`. Recall: of the home sessions
with the target at or below `crash` between the first and the last session the preset could
decide, the share that some firing led into.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.domain.backtest import At, backtest_index, instrument_market, run_backtest, stage_column
from bot.domain.market import MarketData
from bot.domain.markets import Market, primary_market
from bot.domain.pairing import sessions_led_into
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import Rule
from bot.domain.symbols import Instrument

OPENING_METRICS = frozenset({"gap"})
"""Metrics printed at a session's open: a rule reading only these is judged at the open."""


class PredictorError(ValueError):
    """A rule that cannot be judged as a predictor (it mixes markets, or has no data)."""


@dataclass(frozen=True)
class Lead:
    """One firing: the market's session, the home session it led into and the target's move."""

    session: pd.Timestamp
    led_into: pd.Timestamp | None
    target: float | None


@dataclass(frozen=True)
class Judgement:
    """A preset's record as a predictor of the home market's sessions."""

    rule: Rule
    market: Market
    at: At
    first: pd.Timestamp
    last: pd.Timestamp
    sessions: int
    """Sessions of its market on which every input was known."""
    firings: tuple[Lead, ...]
    crashes: tuple[pd.Timestamp, ...]
    """Home sessions with the target at or below `crash` inside the window."""
    warned: tuple[pd.Timestamp, ...]
    """Of those, the ones some firing led into."""
    hit: float
    crash: float

    @property
    def years(self) -> float:
        """The window's length in years (calendar days / 365.25)."""
        return max((self.last - self.first).days, 1) / 365.25

    @property
    def per_year(self) -> float:
        """Firings per year of the window."""
        return len(self.firings) / self.years

    @property
    def hits(self) -> int:
        """Firings that led into a session with the target at or below `hit`."""
        return sum(1 for f in self.firings if f.target is not None and f.target <= self.hit)

    @property
    def judged(self) -> int:
        """Firings whose home session's target move is known."""
        return sum(1 for f in self.firings if f.target is not None)

    @property
    def precision(self) -> float | None:
        """hits / judged firings (None without a judged firing)."""
        return self.hits / self.judged if self.judged else None

    @property
    def recall(self) -> float | None:
        """warned / crashes (None without a crash in the window)."""
        return len(self.warned) / len(self.crashes) if self.crashes else None


def judging_stage(rule: Rule) -> At:
    """`open` for a rule that reads only opening gaps, else `close`."""
    metrics = {ref.metric for ref in metric_refs(rule.tree)}
    return "open" if metrics <= OPENING_METRICS else "close"


def judge(
    data: MarketData,
    rule: Rule,
    target: Instrument,
    hit: float = -3.0,
    crash: float = -5.0,
    home: Market | None = None,
) -> Judgement:
    """Judge `rule` (all of whose symbols trade on one market) as a predictor of `target`'s
    moves in the home market's sessions its firings lead into."""
    home = home or primary_market()
    instruments: dict[str, Instrument] = {}
    for ref in metric_refs(rule.tree):
        instruments.setdefault(ref.instrument.label, ref.instrument)
    venues = {instrument_market(data, inst) for inst in instruments.values()}
    if len(venues) != 1:
        raise PredictorError(f"{rule.id}: its symbols trade on more than one market")
    market = venues.pop()
    at = judging_stage(rule)
    index = backtest_index(data, list(instruments.values()))
    known = np.ones(len(index), dtype=bool)
    for ref in metric_refs(rule.tree):
        known &= ~np.isnan(stage_column(data, ref.instrument, ref.metric, index, at).values)
    window = index[known]
    if len(window) == 0:
        raise PredictorError(f"{rule.id}: no session on which every input is known")
    result = run_backtest(data, rule, window[0], window[-1], at=at)
    days = pd.DatetimeIndex([f.date for f in result.firings if f.date in window])
    led = sessions_led_into(market, days, home, at, home_stage="close")
    moves = data.column(target, "pct", pd.DatetimeIndex(led.fillna(pd.Timestamp(0)))).values
    firings = tuple(
        Lead(
            session=pd.Timestamp(day),
            led_into=None if pd.isna(into) else pd.Timestamp(into),
            target=None if pd.isna(into) or np.isnan(move) else float(move),
        )
        for day, into, move in zip(days, led, moves, strict=True)
    )
    ends = pd.DatetimeIndex([window[0], window[-1]])
    span = sessions_led_into(market, ends, home, at, home_stage="close")
    home_days = data.sessions(target.symbol)
    home_days = home_days[(home_days >= span[0]) & (home_days <= span[-1])]
    target_moves = data.column(target, "pct", home_days).values
    crashes = tuple(pd.Timestamp(d) for d in home_days[target_moves <= crash])
    warned_days = {f.led_into for f in firings}
    warned = tuple(day for day in crashes if day in warned_days)
    return Judgement(
        rule, market, at, window[0], window[-1], len(window), firings, crashes, warned, hit, crash
    )
