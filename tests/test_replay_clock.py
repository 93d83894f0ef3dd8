"""The replay's discrete-event clock: the checks that define the day run, each at its own time.

A loaded machine makes a replay's loop late; the virtual clock then stands hours ahead of the
checks still to run. Each opening and closing check and every digest must still run once, in
order, reading the prints of its own scheduled time under its own label.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bot.domain.snapshot import Quote
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, FeedTick, LiveFeed
from bot.feeds.live_market import LiveMarket
from bot.feeds.replay_day import idle_stretches, load_trading_day
from bot.feeds.replay_feed import ReplayFeed, VirtualClock
from bot.services import Core
from bot.stores import Store, open_store
from jobs.market_jobs import SchedulerSettings, market_jobs
from jobs.scheduler import Job, Scheduler, daily_at, every

START = datetime(2025, 1, 27, 8, 59, tzinfo=UTC)  # 03:59 New York, before the pre-market
UNTIL = datetime(2025, 1, 27, 21, 45, tzinfo=UTC)  # after the 06:30 Seoul digest
SPEED = 600.0


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def claims(tmp_path: Path) -> AsyncIterator[Store]:
    """A real SQLite store for the scheduler's run claims."""
    store = await open_store(f"sqlite:///{tmp_path / 'claims.db'}")
    yield store
    await store.close()


def far_behind_clock(real_seconds_behind: float) -> VirtualClock:
    """A replay clock whose real time has already run `real_seconds_behind` past its start:
    every scheduled time up to the end of the day is due at once."""
    return VirtualClock(
        START, SPEED, real_start=1000.0, real_time=lambda: 1000.0 + real_seconds_behind
    )


def row(core: Core, symbol: str) -> pd.Series:
    table = core.market.table(symbol)
    assert table is not None
    return table.frame.loc[pd.Timestamp("2025-01-27")]


def nvda(tick: FeedTick) -> Quote:
    quote = tick.snapshot.quote("NVDA")
    assert isinstance(quote, Quote), quote
    return quote


async def test_a_clock_far_past_every_check_still_runs_each_one_once_in_order_with_its_own_prints(
    core: Core, claims: Store, tmp_path: Path
) -> None:
    behind = (UNTIL - START).total_seconds() / SPEED + 60  # a minute of real time past the end
    clock = far_behind_clock(behind)
    assert clock.paced() > UNTIL, "every check of the day is due at once"
    ticks: list[FeedTick] = []
    digests: list[datetime] = []

    async def on_tick(tick: FeedTick) -> None:
        ticks.append(tick)

    async def digest_job(scheduled: datetime) -> None:
        assert clock.now() == scheduled, "a job reads its own scheduled time"
        digests.append(scheduled)

    live = LiveFeed(
        LiveMarket(core.market, BackfillCache(tmp_path / "cache")),
        ["NVDA", "SOXX", "DIA"],
        ReplayFeed(core.market, clock),
        stream=None,
        clock=clock,
        settings=FeedSettings(),
        on_tick=on_tick,
    )
    jobs = market_jobs(live, None, SchedulerSettings(), extra={"digests": digest_job})
    scheduler = Scheduler(jobs, clock, claims)
    await asyncio.wait_for(scheduler.run(asyncio.Event(), until=UNTIL), 120)

    ran = [(r.job_id, r.scheduled) for r in scheduler.history if r.outcome == "ran"]
    checks = [(job, at) for job, at in ran if job.startswith("nyse-")]
    assert checks == [
        ("nyse-open", utc("2025-01-27T14:31")),
        ("nyse-close", utc("2025-01-27T18:10")),  # the early-close slot: silent on a full day
        ("nyse-close", utc("2025-01-27T21:10")),
    ]
    minutes = int((UNTIL - START).total_seconds() // 60)
    assert digests == [START + timedelta(minutes=n) for n in range(minutes + 1)], "in order"
    assert all(n == 1 for n in Counter(ran).values()), "each run once"
    assert any(r.job_id == "poll" and r.outcome == "missed" for r in scheduler.history)

    [opening] = [t for t in ticks if t.kind == "open"]
    [closing] = [t for t in ticks if t.kind == "close"]
    assert ticks.index(opening) < ticks.index(closing)
    assert opening.snapshot.moment == utc("2025-01-27T14:31")
    assert nvda(opening).as_of == utc("2025-01-27T14:30")
    assert nvda(opening).last == pytest.approx(float(row(core, "NVDA")["open"]))
    assert closing.snapshot.moment == utc("2025-01-27T21:10")
    assert nvda(closing).as_of == utc("2025-01-27T21:00")
    assert nvda(closing).last == pytest.approx(float(row(core, "NVDA")["close"]))
    assert float(row(core, "NVDA")["open"]) != float(row(core, "NVDA")["close"])


async def test_a_replay_waits_for_real_time_then_runs_every_check_but_only_the_latest_poll(
    claims: Store,
) -> None:
    real = [1000.0]
    start = START + timedelta(seconds=30)
    clock = VirtualClock(start, SPEED, real_start=1000.0, real_time=lambda: real[0])
    polled: list[datetime] = []
    checked: list[datetime] = []

    async def poll(scheduled: datetime) -> None:
        polled.append(clock.now())

    async def check(scheduled: datetime) -> None:
        checked.append(clock.now())

    jobs = [Job("check", every(60), check, catch_up=True), Job("poll", every(60), poll)]
    scheduler = Scheduler(jobs, clock, claims)
    task = asyncio.create_task(scheduler.run(asyncio.Event(), until=START + timedelta(minutes=3)))
    await asyncio.sleep(0)
    assert checked == polled == [] and not task.done(), "nothing runs before real time reaches it"
    real[0] += 3 * 60 / SPEED  # three virtual minutes of real time pass at once
    await asyncio.wait_for(task, 30)
    assert checked == [START + timedelta(minutes=n) for n in (1, 2, 3)]
    assert polled == [START + timedelta(minutes=3)], "missed polls are skipped, as live"
    assert clock.now() == START + timedelta(minutes=3)


FRIDAY_CLOSE = utc("2025-01-24T21:00")  # the day that ends with Monday's close starts here
CME_REOPEN = utc("2025-01-26T23:00")  # Sunday 18:00 New York


def weekend_clock(real: list[float]) -> VirtualClock:
    """A Monday replay's clock from Friday's close, the weekend idle; real time is `real[0]`."""
    return VirtualClock(
        FRIDAY_CLOSE,
        SPEED,
        real_start=1000.0,
        real_time=lambda: real[0],
        idle=[(FRIDAY_CLOSE, CME_REOPEN)],
    )


def test_the_weekend_before_a_monday_costs_no_real_time() -> None:
    real = [1000.0]
    clock = weekend_clock(real)
    assert clock.paced() == CME_REOPEN and clock.lag(CME_REOPEN) == 0
    assert clock.resume_at(utc("2025-01-25T12:00")) == CME_REOPEN
    assert clock.resume_at(CME_REOPEN) == CME_REOPEN
    real[0] += 6.0  # an hour of trading time at 600x
    assert clock.paced() == CME_REOPEN + timedelta(hours=1)
    assert clock.lag(CME_REOPEN + timedelta(hours=2)) == pytest.approx(-6.0)


async def test_no_job_runs_inside_an_idle_stretch_and_the_first_after_it_runs_at_its_end(
    claims: Store, caplog: pytest.LogCaptureFixture
) -> None:
    real = [1000.0]
    clock = weekend_clock(real)
    ran: list[tuple[str, datetime]] = []

    def job(name: str) -> Callable[[datetime], Awaitable[None]]:
        async def run(scheduled: datetime) -> None:
            ran.append((name, clock.now()))

        return run

    saturday = daily_at(12, 0, "UTC", day_of_week="sat")
    jobs = [
        Job("check", every(60), job("check"), catch_up=True),
        Job("saturday", saturday, job("saturday"), catch_up=True),
        Job("poll", every(60), job("poll")),
    ]
    scheduler = Scheduler(jobs, clock, claims)
    real[0] += 2 * 60 / SPEED  # two minutes of trading time: the weekend took no real time
    with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
        await asyncio.wait_for(
            scheduler.run(asyncio.Event(), until=CME_REOPEN + timedelta(minutes=2)), 30
        )
    minutes = [CME_REOPEN + timedelta(minutes=n) for n in (0, 1, 2)]
    assert [at for name, at in ran if name == "check"] == minutes
    assert [at for name, at in ran if name == "poll"] == minutes[-1:]  # missed: skipped, as live
    assert not [at for name, at in ran if name == "saturday"]
    assert (
        "scheduler idle from=2025-01-24T21:00:00+00:00 to=2025-01-26T23:00:00+00:00: "
        "no market trades, nothing runs"
    ) in [r.getMessage() for r in caplog.records]


def test_a_monday_replay_is_idle_from_fridays_close_to_the_cmes_sunday_reopen_only(
    core: Core,
) -> None:
    delay = timedelta(minutes=10)
    monday = load_trading_day(core, pd.Timestamp("2025-01-27"))
    assert idle_stretches(monday, delay) == [(FRIDAY_CLOSE, CME_REOPEN)]
    # A Tuesday: Monday's close to the CME's 18:00 New York reopen (Monday's digest, at
    # 16:30 New York, falls inside and is not the replay's).
    tuesday = load_trading_day(core, pd.Timestamp("2025-01-28"))
    assert idle_stretches(tuesday, delay) == [(utc("2025-01-27T21:00"), utc("2025-01-27T23:00"))]
