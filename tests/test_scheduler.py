"""The scheduler: APScheduler triggers on our own loop and Clock; calendar-aware jobs."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest

from bot.domain.markets import KOREA, US
from bot.feeds.replay_feed import VirtualClock
from bot.ports import ReplayClock, clock_speed
from bot.ports.store import StoreUnavailable
from bot.services import SystemClock
from bot.stores.memory import MemoryStore
from jobs.market_jobs import (
    SchedulerSettings,
    _closing_trigger,
    closing_session,
    opening_session,
    should_poll,
)
from jobs.scheduler import Job, Scheduler, daily_at, every, slots_between
from tests.feeds.conftest import StepClock


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_polls_run_only_while_nyse_trades_and_in_the_pre_market_window() -> None:
    settings = SchedulerSettings()
    assert should_poll(utc("2025-01-27T15:00"), settings)  # regular
    assert should_poll(utc("2025-01-27T13:00"), settings)  # 08:00 New York, pre-market
    assert not should_poll(utc("2025-01-27T08:00"), settings)  # 03:00: before the window
    assert not should_poll(utc("2025-01-09T15:00"), settings)  # national day of mourning
    assert not should_poll(utc("2025-04-18T15:00"), settings)  # Good Friday
    assert not should_poll(utc("2025-01-25T15:00"), settings)  # Saturday
    assert should_poll(utc("2025-11-28T17:59"), settings)
    assert not should_poll(utc("2025-11-28T18:01"), settings)  # the 13:00 early close
    assert not should_poll(utc("2025-01-27T13:00"), SchedulerSettings(premarket=False))
    assert US.phase(utc("2025-11-28T18:01")) == "post"


def test_the_closing_check_runs_at_the_official_close_plus_ten_minutes() -> None:
    trigger = _closing_trigger(US, 10)
    start, end = utc("2025-11-24T00:00"), utc("2025-11-29T00:00")
    checks = [s for s in slots_between(trigger, start, end) if closing_session(s, 10) is not None]
    assert checks == [
        utc("2025-11-24T21:10"),
        utc("2025-11-25T21:10"),
        utc("2025-11-26T21:10"),
        utc("2025-11-28T18:10"),  # Thanksgiving (27th) closed; Friday closes at 13:00
    ]


def test_opening_checks_follow_each_exchange_calendar() -> None:
    assert opening_session(utc("2025-01-27T14:31")) == pd.Timestamp("2025-01-27")
    assert opening_session(utc("2025-01-09T14:31")) is None
    # XKRX: 09:01 Seoul; Seollal 2025-01-28..30 closed.
    assert opening_session(utc("2025-01-31T00:01"), KOREA) == pd.Timestamp("2025-01-31")
    assert opening_session(utc("2025-01-29T00:01"), KOREA) is None


def test_interval_triggers_put_every_instance_on_the_same_grid() -> None:
    one = every(60).get_next_fire_time(None, utc("2025-01-27T14:30:07"))
    two = every(60).get_next_fire_time(None, utc("2025-01-27T14:30:41"))
    assert one == two == utc("2025-01-27T14:31")


def test_a_cron_trigger_keeps_its_time_zone() -> None:
    seoul = daily_at(6, 30, "Asia/Seoul", day_of_week="*")
    assert slots_between(seoul, utc("2025-01-27T00:00"), utc("2025-01-28T00:00")) == [
        utc("2025-01-27T21:30")
    ]


async def test_two_instances_on_one_claim_table_run_each_tick_once_and_both_claim(
    request: pytest.FixtureRequest,
) -> None:
    shared = f"memory://{request.node.name}"  # both processes' view of one store
    ran: list[tuple[str, datetime]] = []
    clocks = [StepClock(utc("2025-01-27T14:30:30")), StepClock(utc("2025-01-27T14:30:30"))]
    schedulers = []
    for name, clock in zip(("a", "b"), clocks, strict=True):

        async def job(scheduled: datetime, name: str = name) -> None:
            ran.append((name, scheduled))

        store = MemoryStore(shared, time_source=lambda clock=clock: clock.now().timestamp())
        schedulers.append(Scheduler([Job("poll", every(60), job)], clock, store))
    for tick in range(20):
        for clock in clocks:
            clock.advance(60)
        order = schedulers if tick % 2 else list(reversed(schedulers))
        for scheduler in order:
            await scheduler.run_due()
    per_time = Counter(scheduled for _, scheduled in ran)
    assert len(per_time) == 20 and set(per_time.values()) == {1}
    assert {name for name, _ in ran} == {"a", "b"}


async def test_after_a_pause_only_the_latest_slot_runs_and_a_stale_one_is_skipped() -> None:
    clock = StepClock(utc("2025-01-27T14:30:30"))
    ran: list[datetime] = []

    async def job(scheduled: datetime) -> None:
        ran.append(scheduled)

    scheduler = Scheduler([Job("poll", every(60), job, grace_seconds=30)], clock, MemoryStore())
    clock.advance(600 - 20)  # down for ten minutes; wakes 10 s after a slot
    outcomes = await scheduler.run_due()
    assert [o.outcome for o in outcomes] == ["ran"] and ran == [utc("2025-01-27T14:40")]
    clock.advance(105)  # 14:41:55, 55 s after the 14:41 slot: past the 30 s grace
    outcomes = await scheduler.run_due()
    assert [o.outcome for o in outcomes] == ["missed"] and len(ran) == 1
    assert scheduler.next_due() == utc("2025-01-27T14:42")


class UnreachableClaims:
    """A claim table whose store is down: every claim raises StoreUnavailable."""

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        raise StoreUnavailable("redis://localhost:1: connection refused")


async def test_a_claim_the_store_cannot_answer_skips_the_run_and_keeps_the_loop_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = StepClock(utc("2025-01-27T14:30:30"))
    ran: list[datetime] = []

    async def job(scheduled: datetime) -> None:
        ran.append(scheduled)

    scheduler = Scheduler([Job("poll", every(60), job)], clock, UnreachableClaims())
    clock.advance(40)
    with caplog.at_level(logging.WARNING, logger="jobs.scheduler"):
        outcomes = await scheduler.run_due()
    assert [o.outcome for o in outcomes] == ["claim failed"] and ran == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "claim failed" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert scheduler.next_due() == utc("2025-01-27T14:32")


class FastStepClock(StepClock):
    """A replay clock at 100000×: a real millisecond is 100 virtual seconds (a `ReplayClock`
    the test moves by hand)."""

    speed = 100_000.0
    real_start = 0.0

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.virtual_start = start

    def start(self) -> None:
        """Started by the test, not by real time."""


def test_only_a_clock_that_declares_the_replay_contract_is_scaled() -> None:
    assert isinstance(FastStepClock(utc("2025-01-27T09:00")), ReplayClock)
    assert clock_speed(FastStepClock(utc("2025-01-27T09:00"))) == 100_000
    assert not isinstance(StepClock(utc("2025-01-27T09:00")), ReplayClock)
    assert clock_speed(StepClock(utc("2025-01-27T09:00"))) == 1
    virtual = VirtualClock(utc("2025-01-27T09:00"), 600, real_time=lambda: 100.0)
    assert isinstance(virtual, ReplayClock) and clock_speed(virtual) == 600
    assert not isinstance(SystemClock(), ReplayClock)


async def test_on_an_accelerated_clock_lateness_is_judged_in_real_seconds() -> None:
    clock = FastStepClock(utc("2025-01-27T14:30:30"))
    ran: list[datetime] = []

    async def job(scheduled: datetime) -> None:
        ran.append(scheduled)

    opening = Job("open", daily_at(9, 31, "America/New_York"), job, grace_seconds=900)
    scheduler = Scheduler([opening], clock, MemoryStore())
    clock.advance(30 + 3600)  # an hour of virtual lag: 36 ms real, well within the grace
    outcomes = await scheduler.run_due()
    assert [o.outcome for o in outcomes] == ["ran"] and ran == [utc("2025-01-27T14:31")]


async def test_at_replay_speed_the_runs_passed_over_are_one_summary_line_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = [1_000.0]
    clock = VirtualClock(
        utc("2025-01-27T14:30"), 600, real_start=1_000.0, real_time=lambda: real[0]
    )

    async def job(scheduled: datetime) -> None:
        pass

    jobs = [Job("poll", every(60), job), Job("digests", every(60), job, grace_seconds=3600)]
    scheduler = Scheduler(jobs, clock, MemoryStore())
    with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
        real[0] += 5.0  # fifty minutes of trading time pass before the loop turns
        await scheduler.run(asyncio.Event(), until=utc("2025-01-27T15:20"))
    [line] = [r.getMessage() for r in caplog.records if "skipped_missed_runs" in r.getMessage()]
    assert line == "scheduler skipped_missed_runs=100 at speed 600x (poll=50 digests=50)"


async def test_on_the_wall_clock_each_pass_over_is_its_own_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = StepClock(utc("2025-01-27T14:30:30"))

    async def job(scheduled: datetime) -> None:
        pass

    scheduler = Scheduler([Job("poll", every(60), job, grace_seconds=30)], clock, MemoryStore())
    with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
        clock.advance(600 - 20)
        await scheduler.run_due()
        stop = asyncio.Event()
        stop.set()
        await scheduler.run(stop)
    lines = [r.getMessage() for r in caplog.records if "skipped_missed_runs" in r.getMessage()]
    assert lines == ["scheduler job=poll skipped_missed_runs=9"]
