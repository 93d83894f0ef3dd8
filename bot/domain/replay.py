"""Replay one session of the default market (NYSE as shipped) through the real pipeline:
snapshot → rules, at each real print.

The prints are the ones the history really has — the previous close, the open and the
close. High and low are shown only as the day's range: the order in which they were
reached is unknown, so no intraday path is invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.market import MarketData, Stage
from bot.domain.markets import primary_market
from bot.domain.rules.evaluate import CompiledRules, RuleOutcome
from bot.domain.snapshot import Resolved, Snapshot
from bot.domain.symbols import Instrument

STAGES: tuple[Stage, ...] = ("previous_close", "open", "close")


@dataclass(frozen=True)
class ReplayStep:
    """The rules' outcomes at one real print."""

    stage: Stage
    moment: datetime
    snapshot: Snapshot
    outcomes: tuple[RuleOutcome, ...]

    @property
    def fired(self) -> tuple[RuleOutcome, ...]:
        """The outcomes that fired at this print."""
        return tuple(outcome for outcome in self.outcomes if outcome.fired)


@dataclass(frozen=True)
class SessionFiring:
    """A rule that fired during the session: at which print first, and how it stood at the
    close (a rule that fired only at the open no longer held by the close)."""

    first: ReplayStep
    outcome: RuleOutcome
    """The outcome at the first print it fired on."""
    at_close: RuleOutcome

    @property
    def held_at_close(self) -> bool:
        """True when the rule still fired at the session's close."""
        return self.at_close.fired


@dataclass(frozen=True)
class Replay:
    """A whole session replayed, with the next session's outcome."""

    session: pd.Timestamp
    previous_session: pd.Timestamp
    next_session: pd.Timestamp | None
    steps: tuple[ReplayStep, ...]
    watch: tuple[Instrument, ...]
    next_snapshot: Snapshot | None

    @property
    def close(self) -> Snapshot:
        """The snapshot at the session's close."""
        return self.steps[-1].snapshot

    @property
    def firings(self) -> list[SessionFiring]:
        """Each rule that fired at one of the session's own prints (the open or the close;
        the previous close belongs to the previous session), in rule order."""
        closing = {outcome.rule.id: outcome for outcome in self.steps[-1].outcomes}
        found: dict[str, SessionFiring] = {}
        for step in self.steps:
            if step.stage == "previous_close":
                continue
            for outcome in step.fired:
                if outcome.rule.id not in found:
                    found[outcome.rule.id] = SessionFiring(step, outcome, closing[outcome.rule.id])
        order = [outcome.rule.id for outcome in self.steps[-1].outcomes]
        return sorted(found.values(), key=lambda item: order.index(item.outcome.rule.id))

    def moves(self, snapshot: Snapshot) -> list[Resolved]:
        """The watched instruments' `pct` at a snapshot (proxies named)."""
        return [snapshot.read(instrument, "pct") for instrument in self.watch]


def history_sessions(market: MarketData, reference: str | None = None) -> pd.DatetimeIndex:
    """The sessions a replay may use (the default market's): those where the reference
    symbol (default: the default market's `freshness` series, ^SOX as shipped) has a close."""
    sessions = market.sessions(reference or primary_market().freshness or "^SOX")
    if len(sessions) == 0:
        sessions = pd.DatetimeIndex(
            sorted({day for symbol in market.histories for day in market.sessions(symbol)})
        )
    return sessions


def replay_session(
    market: MarketData,
    rules: CompiledRules,
    session: pd.Timestamp,
    watch: Sequence[Instrument],
    sessions: pd.DatetimeIndex,
) -> Replay:
    """Evaluate every rule at each real print of `session`, then look at the next session."""
    calendar = session_calendar(primary_market().calendar)
    steps = []
    for stage in STAGES:
        snapshot = market.snapshot(session, stage)
        steps.append(ReplayStep(stage, snapshot.moment, snapshot, tuple(rules.evaluate(snapshot))))
    position = int(sessions.searchsorted(session))
    next_session = sessions[position + 1] if position + 1 < len(sessions) else None
    next_snapshot = market.snapshot(next_session, "close") if next_session is not None else None
    return Replay(
        session=session,
        previous_session=pd.Timestamp(calendar.previous_session(session)),
        next_session=next_session,
        steps=tuple(steps),
        watch=tuple(watch),
        next_snapshot=next_snapshot,
    )
