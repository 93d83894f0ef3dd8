"""The scheduler: APScheduler 3.11 triggers, fired by our own loop on the injected Clock.

Why our own loop and not `AsyncIOScheduler`: APScheduler reads `datetime.now()` inside the
scheduler and the executor, offers no supported fake clock and does not hand a job its
scheduled fire time. `run --replay` must drive the same jobs on a virtual, accelerated
clock, and tests must move time by hand (`run_due` is one turn of the loop at the clock's
time). So live and replay both use the same trigger
objects (`IntervalTrigger` with a fixed `start_date`, so every instance is on one grid;
`CronTrigger` with a time zone) through their public maths,
`trigger.get_next_fire_time(previous, now)`, and this loop waits on the `Clock`.

Each run is claimed with `store.claim_run(job_id, scheduled, ttl)` before it runs, so N
instances run it once. After a pause only the latest missed slot of a job may run, and
only within the job's `grace_seconds` (a missed poll is skipped; digests keep their own,
longer grace in the digest job, which reads the store).

On a `SteppedClock` (a replay's `VirtualClock`) the loop is discrete-event: it steps the
clock to the next due time (paced against real time by the clock) and runs the jobs due
then, in order, to completion, with the clock reading their scheduled time. A `catch_up`
job (the opening and closing checks, digests) runs every one of its slots, however late
the loop is; other jobs (polls) skip a slot missed by more than their grace, as live. An
idle stretch of the clock (no market trades) is stepped over in one move: no job runs
inside it, and it costs no real time.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.ports import Clock, clock_speed
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)

JobFunction = Callable[[datetime], Awaitable[Any]]
"""A job receives its *scheduled* fire time (trading time, UTC)."""


class RunClaims(Protocol):
    """What the scheduler needs from the store: one claim per (job, scheduled time)."""

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        """True for exactly one caller."""
        ...


@dataclass
class Job:
    """One scheduled job: an APScheduler trigger and the async function it runs."""

    id: str
    trigger: Any
    """An APScheduler 3.11 trigger (`IntervalTrigger`, `CronTrigger`)."""
    run: JobFunction
    grace_seconds: float = 30.0
    catch_up: bool = False
    """On a stepped (replay) clock, run every slot however late (checks that define the day)."""
    next_fire: datetime | None = None
    runs: int = 0
    skipped: int = 0
    skipped_missed: int = 0
    """Runs passed over because a later slot was due already (counted in `skipped` too)."""


@dataclass(frozen=True)
class Ran:
    """One job run the loop made (or skipped) at one scheduled time."""

    job_id: str
    scheduled: datetime
    outcome: str
    """"ran", "claimed elsewhere", "claim failed", "missed", "failed"."""


@runtime_checkable
class SteppedClock(Protocol):
    """A clock the scheduler steps from one due time to the next (`VirtualClock`)."""

    speed: float

    def now(self) -> datetime: ...

    def paced(self) -> datetime:
        """Where real time lets the clock be."""
        ...

    def lag(self, moment: datetime) -> float:
        """Real seconds since pacing reached `moment`."""
        ...

    def advance_to(self, moment: datetime) -> None: ...

    def resume_at(self, moment: datetime) -> datetime:
        """`moment`, or the end of the idle stretch it falls in."""
        ...

    async def pace_to(self, moment: datetime, stop: asyncio.Event) -> bool: ...


@dataclass
class Scheduler:
    """Fires jobs at their triggers' times on `clock`; `run_due` is one turn of the loop."""

    jobs: Sequence[Job]
    clock: Clock
    claims: RunClaims
    claim_ttl_seconds: float = 600.0
    history: list[Ran] = field(default_factory=list)
    before_step: Callable[[datetime], Awaitable[None]] | None = None
    """Stepped clock: awaited before the clock steps to a due time (a replay waits there for
    the alerts that expire by then to be delivered: `jobs.unfinished.ExpiryBarrier`)."""

    def __post_init__(self) -> None:
        now = self.clock.now()
        for job in self.jobs:
            job.next_fire = _as_utc(job.trigger.get_next_fire_time(None, now))

    def next_due(self) -> datetime | None:
        """The earliest next fire time of any job."""
        times = [job.next_fire for job in self.jobs if job.next_fire is not None]
        return min(times) if times else None

    async def run_due(self) -> list[Ran]:
        """Run every job whose fire time has come (the latest missed slot only)."""
        now = self.clock.now()
        done: list[Ran] = []
        for job in self.jobs:
            if job.next_fire is None or job.next_fire > now:
                continue
            scheduled, missed = _latest_slot(job.trigger, job.next_fire, now)
            job.next_fire = _as_utc(job.trigger.get_next_fire_time(scheduled, now))
            if missed:
                job.skipped += missed
                job.skipped_missed += missed
                if clock_speed(self.clock) <= 1:  # at replay speeds: one summary line, at the end
                    log.info("scheduler job=%s skipped_missed_runs=%d", job.id, missed)
            # Lateness is judged in real seconds: on an accelerated replay clock the loop's
            # own lag (milliseconds, but minutes of virtual time) is not a missed run.
            lateness = (now - scheduled).total_seconds()
            if lateness / clock_speed(self.clock) > job.grace_seconds:
                job.skipped += 1
                log.info(
                    "scheduler job=%s scheduled=%s missed late_s=%.0f (skipped)",
                    job.id,
                    scheduled.isoformat(),
                    lateness,
                )
                done.append(Ran(job.id, scheduled, "missed"))
                continue
            done.append(await self._run(job, scheduled))
        self.history.extend(done)
        return done

    async def _run(self, job: Job, scheduled: datetime) -> Ran:
        try:
            claimed = await self.claims.claim_run(job.id, scheduled, self.claim_ttl_seconds)
        except StoreUnavailable as exc:
            # The store is down for a moment: skip this run (the next poll comes; digests
            # catch up on their own), never let it end the loop and the process.
            log.warning(
                "scheduler job=%s scheduled=%s claim failed (skipped): %s",
                job.id,
                scheduled.isoformat(),
                " ".join(str(exc).split())[:300],
            )
            return Ran(job.id, scheduled, "claim failed")
        if not claimed:
            return Ran(job.id, scheduled, "claimed elsewhere")
        try:
            await job.run(scheduled)
        except Exception:
            log.exception("scheduler job=%s scheduled=%s failed", job.id, scheduled.isoformat())
            return Ran(job.id, scheduled, "failed")
        job.runs += 1
        return Ran(job.id, scheduled, "ran")

    async def step(self) -> list[Ran]:
        """Stepped clock: step it to the next due time and run what is due then, in order.

        A `catch_up` job runs its slot however late; another job whose slot pacing left more
        than its grace behind passes on to its latest slot (`missed`, as live)."""
        clock = self.clock
        due = self.next_due()
        if due is None or not isinstance(clock, SteppedClock):
            return []
        resume = clock.resume_at(due)
        if resume > due:
            self._step_over(due, resume)
            return []
        clock.advance_to(due)
        done: list[Ran] = []
        for job in self.jobs:
            if job.next_fire is None or job.next_fire > due:
                continue
            scheduled = job.next_fire
            if not job.catch_up:
                latest, missed = _latest_slot(job.trigger, scheduled, max(clock.paced(), due))
                if missed:  # only its latest slot may run, when the clock reaches it
                    job.skipped += missed
                    job.skipped_missed += missed  # one summary line at the end of the run
                    done.append(Ran(job.id, scheduled, "missed"))
                    job.next_fire = latest
                    continue
                if clock.lag(scheduled) > job.grace_seconds:
                    job.skipped += 1
                    job.next_fire = _as_utc(job.trigger.get_next_fire_time(scheduled, scheduled))
                    done.append(Ran(job.id, scheduled, "missed"))
                    continue
            job.next_fire = _as_utc(job.trigger.get_next_fire_time(scheduled, scheduled))
            done.append(await self._run(job, scheduled))
        self.history.extend(done)
        return done

    def _step_over(self, due: datetime, resume: datetime) -> None:
        """An idle stretch: every job's slots before `resume` pass without a run."""
        for job in self.jobs:
            if job.next_fire is not None and job.next_fire < resume:
                job.next_fire = _as_utc(job.trigger.get_next_fire_time(None, resume))
        log.info(
            "scheduler idle from=%s to=%s: no market trades, nothing runs",
            due.isoformat(),
            resume.isoformat(),
        )

    async def run(self, stop: asyncio.Event, *, until: datetime | None = None) -> None:
        """Loop until `stop` is set (or the clock passes `until`); at replay speeds the runs
        passed over are one summary line at the end, not a line each time."""
        try:
            await self._loop(stop, until)
        finally:
            self.log_skipped_summary()

    def log_skipped_summary(self) -> None:
        """One line for the missed runs passed over on an accelerated clock, by job."""
        speed = clock_speed(self.clock)
        counts = {job.id: job.skipped_missed for job in self.jobs if job.skipped_missed}
        if speed > 1 and counts:
            by_job = " ".join(f"{job}={count}" for job, count in counts.items())
            log.info(
                "scheduler skipped_missed_runs=%d at speed %gx (%s)",
                sum(counts.values()),
                speed,
                by_job,
            )

    async def _loop(self, stop: asyncio.Event, until: datetime | None) -> None:
        if isinstance(self.clock, SteppedClock):
            await self._run_stepped(self.clock, stop, until)
            return
        while not stop.is_set():
            due = self.next_due()
            if due is None or (until is not None and due > until):
                if until is not None:
                    await wait_until(self.clock, until, stop)
                    return
                await _wait(stop, 60.0)
                continue
            await wait_until(self.clock, due, stop)
            if stop.is_set():
                return
            await self.run_due()

    async def _run_stepped(
        self, clock: SteppedClock, stop: asyncio.Event, until: datetime | None
    ) -> None:
        while not stop.is_set():
            due = self.next_due()
            if due is None or (until is not None and due > until):
                if until is not None:
                    await clock.pace_to(until, stop)
                    return
                await _wait(stop, 60.0)
                continue
            if self.before_step is not None:
                await self.before_step(due)
            if not await clock.pace_to(due, stop):
                return
            await self.step()


def _latest_slot(trigger: Any, first: datetime, now: datetime) -> tuple[datetime, int]:
    """The latest fire time at or before `now`, from `first`; and how many were passed over."""
    current, missed = first, 0
    while True:
        following = _as_utc(trigger.get_next_fire_time(current, current))
        if following is None or following > now or following <= current:
            return current, missed
        current, missed = following, missed + 1


def _as_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


async def wait_until(clock: Clock, moment: datetime, stop: asyncio.Event) -> None:
    """Wait (real time, scaled by the clock's speed) until `clock.now() >= moment`."""
    while not stop.is_set():
        left = (moment - clock.now()).total_seconds()
        if left <= 0:
            return
        await _wait(stop, min(left / clock_speed(clock), 1.0))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


GRID_START = datetime(2000, 1, 3, 0, 0)
"""The fixed `start_date` of every interval trigger: all instances share one grid."""


def every(seconds: float) -> Any:
    """An `IntervalTrigger` every `seconds` on the fixed UTC grid."""
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(seconds=seconds, start_date=GRID_START, timezone="UTC")


class AtMoments:
    """A trigger that fires at given moments (a replay's intraday bars), with the public
    maths of APScheduler's triggers: `get_next_fire_time(previous, now)`."""

    def __init__(self, moments: Sequence[datetime]) -> None:
        self.moments = sorted({moment.astimezone(UTC) for moment in moments})

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        """The first moment at or after `now` (and after `previous`, if given)."""
        floor = now if previous is None else max(now, previous + timedelta(microseconds=1))
        position = bisect.bisect_left(self.moments, floor)
        return self.moments[position] if position < len(self.moments) else None


def daily_at(hour: int, minute: int, zone: str, day_of_week: str = "mon-fri") -> Any:
    """A `CronTrigger` at a local time of day in `zone`."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(day_of_week=day_of_week, hour=hour, minute=minute, timezone=zone)


def slots_between(trigger: Any, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of `trigger` in (start, end] (for tests, replays and digests)."""
    found: list[datetime] = []
    current = _as_utc(trigger.get_next_fire_time(None, start + timedelta(microseconds=1)))
    while current is not None and current <= end:
        found.append(current)
        following = _as_utc(trigger.get_next_fire_time(current, current))
        if following is None or following <= current:
            break
        current = following
    return found
