"""A clock the test moves: the fakes' limits and the bot's pacers read it, nobody waits."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Seconds that move only when the test advances them or someone sleeps on the clock.

    Call it (or `clock()`) for the time; `sleep` advances it instead of waiting, so a pacer
    given `clock=fake, sleep=fake.sleep` runs at once while the fakes see the time it waited.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def clock(self) -> float:
        """The current time (for APIs that want a bound method)."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time forward."""
        self.now += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        """Advance instead of waiting, then let other tasks run."""
        self.advance(seconds)
        await asyncio.sleep(0)
