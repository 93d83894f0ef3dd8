"""Trigger-state rules: may this firing alert this channel? (Pure; the Redis Lua mirrors it.)"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import TriggerPolicy


@dataclass(frozen=True)
class TriggerState:
    """What a store remembers per (channel, rule)."""

    session: str
    """ISO date of the session of the last alert."""
    rank: int
    """Severity rank of the last alert in that session."""
    fired_at: float
    """Epoch seconds of the last alert."""
    armed: bool
    """The condition has been false since the last alert (cooldown re-arm)."""
    count: int

    def encode(self) -> str:
        """Compact `session|rank|fired_at|armed|count` form (the Redis hash value)."""
        return f"{self.session}|{self.rank}|{self.fired_at!r}|{int(self.armed)}|{self.count}"

    @classmethod
    def decode(cls, text: str) -> TriggerState:
        """Inverse of `encode`."""
        session, rank, fired_at, armed, count = text.split("|")
        return cls(session, int(rank), float(fired_at), armed == "1", int(count))


def may_fire(
    policy: TriggerPolicy, state: TriggerState | None, session: str, rank: int, now: float
) -> bool:
    """Apply the policy; a higher severity tier in the same session always alerts once more."""
    if state is None:
        return True
    if session == state.session and rank > state.rank:
        return True
    if policy.kind == "once":
        return False
    if policy.kind == "once_per_session":
        return session > state.session
    return state.armed and now - state.fired_at >= policy.cooldown_seconds


def after_fire(state: TriggerState | None, session: str, rank: int, now: float) -> TriggerState:
    """The state once the alert has been claimed."""
    count = 1 if state is None else state.count + 1
    return TriggerState(session=session, rank=rank, fired_at=now, armed=False, count=count)
