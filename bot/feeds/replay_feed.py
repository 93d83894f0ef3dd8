"""The replay feed and its virtual clock: a shipped session's real prints, on accelerated time.

`VirtualClock` is a discrete-event clock: `now()` is the time of the scheduled run being
made, and moves only when the scheduler (or a test) steps it to the next due time
(`advance_to`). `--speed` only paces those steps against real time: a step waits until
`virtual_start + (real - real_start) * speed` has reached it (`pace_to`), and a loop that
is late simply steps on, so no check ever reads a later time than its own. Processes given
the same `real_start` (`run --start-at EPOCH`) are paced by one clock.
`ReplayFeed` answers a poll with what the history really has at the clock's time — the
scheduled time of the check — each symbol's last real print: with a `TradingDay`, the last
print of its tape (every market's opens and closes at their exchange times, intraday bars at
each bar's end); without one, its session's open once the session opened, its official close
once it closed. No intraday path and no pre-market print are invented.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.market import MarketData
from bot.domain.markets import market_for_symbol
from bot.domain.trading_day import TradingDay
from bot.ports import Clock, Print, PrintBatch, PrintHandler

SOURCE = "replay"


class VirtualClock:
    """Trading time, stepped from event to event and paced `speed` times faster than real time.

    `now()` starts at `virtual_start` and moves only by `advance_to` (never backwards).
    `paced()` is where real time lets the replay be; `lag(moment)` how many real seconds
    the replay is behind `moment`.
    """

    def __init__(
        self,
        virtual_start: datetime,
        speed: float,
        *,
        real_start: float | None = None,
        real_time: Callable[[], float] = time.time,
    ) -> None:
        self.virtual_start = virtual_start.astimezone(UTC)
        self.speed = float(speed)
        self.real_time = real_time
        self.fixed = real_start is not None
        self.real_start = real_time() if real_start is None else float(real_start)
        self.cursor = self.virtual_start

    def start(self, at: float | None = None) -> None:
        """Start pacing now (or at the real epoch `at`), unless the start was fixed
        (`--start-at`)."""
        if at is not None:
            self.real_start, self.fixed = float(at), True
        elif not self.fixed:
            self.real_start = self.real_time()

    def now(self) -> datetime:
        """The virtual time the replay has reached (the time of the run being made)."""
        return self.cursor

    def advance_to(self, moment: datetime) -> None:
        """Step the clock to `moment` (a time already reached is kept: never backwards)."""
        self.cursor = max(self.cursor, moment.astimezone(UTC))

    def paced(self) -> datetime:
        """Where real time lets the replay be (before `real_start`: the virtual start)."""
        elapsed = max(0.0, self.real_time() - self.real_start)
        return self.virtual_start + timedelta(seconds=elapsed * self.speed)

    def lag(self, moment: datetime) -> float:
        """Real seconds since pacing reached `moment` (negative: still ahead)."""
        due_real = self.real_start + (moment - self.virtual_start).total_seconds() / self.speed
        return self.real_time() - due_real

    async def pace_to(self, moment: datetime, stop: asyncio.Event) -> bool:
        """Wait (real time) until pacing reaches `moment`, then step to it; False if `stop`
        was set first."""
        while not stop.is_set():
            ahead = -self.lag(moment)
            if ahead <= 0:
                self.advance_to(moment)
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(ahead, 1.0))
        return False


class ReplayFeed:
    """`PriceFeed` over the shipped history: the last real print of each symbol at `now`."""

    name = "replay"

    def __init__(self, market: MarketData, clock: Clock, day: TradingDay | None = None) -> None:
        self.market = market
        self.clock = clock
        self.day = day
        """The trading day round the clock (every market's prints and the intraday bars);
        without one, each symbol's own session's open and close."""
        self.fetches = 0

    def print_at(self, symbol: str, now: datetime) -> Print | None:
        """The symbol's latest real print at `now` (open, close or bar), or None."""
        if self.day is not None:
            return self._tape_print(symbol, now)
        table = self.market.table(symbol)
        if table is None:
            return None
        schedule = session_calendar(table.calendar).schedule
        stamp = pd.Timestamp(now)
        opened = schedule.index[schedule["open"] <= stamp]
        for session in reversed(opened[-5:]):
            day = pd.Timestamp(session)
            if day not in table.frame.index:
                continue
            row = table.frame.loc[day]
            closed = bool(schedule.at[day, "close"] <= stamp)
            if closed and not pd.isna(row["close"]):
                at = pd.Timestamp(schedule.at[day, "close"]).to_pydatetime()
                return Print(
                    symbol,
                    float(row["close"]),
                    at,
                    "regular",
                    SOURCE,
                    open=_number(row["open"]),
                    high=_number(row["high"]),
                    low=_number(row["low"]),
                )
            if not closed and not pd.isna(row["open"]):
                at = pd.Timestamp(schedule.at[day, "open"]).to_pydatetime()
                opening = float(row["open"])
                return Print(symbol, opening, at, "regular", SOURCE, open=opening)
            if not closed:
                continue  # opened, no opening print: the previous close is the last print
        return None

    def _tape_print(self, symbol: str, now: datetime) -> Print | None:
        assert self.day is not None
        found = self.day.latest(symbol, now)
        if found is None:
            return None
        if found.stage != "bar":
            return Print(
                symbol, found.price, found.at, "regular", SOURCE,
                open=found.open, high=found.high, low=found.low,
            )  # fmt: skip
        session = market_for_symbol(symbol).print_session(found.at)
        return Print(
            symbol, found.price, found.at, session, f"{SOURCE}, {found.source}",
            basis_close=found.basis_close,
        )  # fmt: skip

    async def fetch(self, symbols: Sequence[str]) -> PrintBatch:
        """Every symbol's last real print at the clock's time: on the stepped `VirtualClock`,
        the scheduled time of the check that asks, however late the loop runs it."""
        self.fetches += 1
        now = self.clock.now()
        prints: dict[str, Print] = {}
        missing: dict[str, str] = {}
        for symbol in symbols:
            found = self.print_at(symbol, now)
            if found is None:
                missing[symbol] = "no_data"
            else:
                prints[symbol] = found
        return PrintBatch(prints, now, SOURCE, missing)

    async def stream(
        self, symbols: Sequence[str], on_batch: PrintHandler, stop: asyncio.Event
    ) -> None:
        """The replay is polled by the scheduler; nothing is pushed."""
        return


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)
