"""Calendar-aware market jobs: polls, the opening check, the closing check, KRX checks.

Cron triggers know time zones, not holidays: every job asks exchange_calendars (`XNYS`,
`XKRX`) whether its market trades at the scheduled time and stays silent otherwise
(2025-01-09 and Good Friday are closed; 2025-11-28 closes at 13:00, so its closing check
runs at 13:10). The closing check evaluates the session's daily bar (the official close,
appended to the backfill cache), not the last 1-minute print.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd

from bot.feeds.backfill import backfill
from bot.feeds.calendar import KRX, NYSE, calendar_for_symbol, session_calendar
from bot.feeds.live import FeedTick, LiveFeed
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.ports import Print, PrintBatch
from bot.settings import Settings
from jobs.scheduler import Job, daily_at, every

log = logging.getLogger(__name__)

NEW_YORK = "America/New_York"
SEOUL = "Asia/Seoul"
Phase = Literal["closed", "pre", "regular", "post"]


@dataclass(frozen=True)
class SchedulerSettings:
    """`[scheduler]` plus the feed's poll interval."""

    poll_seconds: float = 60.0
    premarket: bool = True
    premarket_start: str = "04:00"
    postmarket_end: str = "20:00"
    closing_check_delay_minutes: int = 10
    krx_checks: bool = True
    claim_ttl_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulerSettings:
        """`[scheduler]`, with the poll interval and pre-market switch of `[feed]`."""
        return cls(
            poll_seconds=settings.feed.poll_seconds,
            premarket=settings.feed.premarket,
            **settings.scheduler.model_dump(),
        )


def _local_minutes(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def nyse_phase(moment: datetime, premarket_start: str = "04:00", post_end: str = "20:00") -> Phase:
    """Where NYSE's day stands at `moment`: closed, pre, regular or post (its calendar)."""
    calendar = session_calendar(NYSE)
    stamp = pd.Timestamp(moment)
    local = stamp.tz_convert(NEW_YORK)
    day = local.normalize().tz_localize(None)
    if not calendar.is_session(day):
        return "closed"
    opens, closes = calendar.session_open(day), calendar.session_close(day)
    minutes = local.hour * 60 + local.minute
    if stamp < opens:
        return "pre" if minutes >= _local_minutes(premarket_start) else "closed"
    if stamp < closes:
        return "regular"
    return "post" if minutes < _local_minutes(post_end) else "closed"


def should_poll(moment: datetime, settings: SchedulerSettings) -> bool:
    """Polls run while NYSE is open, and in the pre-market window when enabled."""
    phase = nyse_phase(moment, settings.premarket_start, settings.postmarket_end)
    return phase == "regular" or (settings.premarket and phase == "pre")


def _session_on(
    scheduled: datetime, calendar_name: str
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp] | None:
    """The scheduled time, the exchange day it falls on, and that day's open — or None when
    the exchange has no session that day."""
    calendar = session_calendar(calendar_name)
    stamp = pd.Timestamp(scheduled)
    day = stamp.tz_convert(calendar.tz).normalize().tz_localize(None)
    if not calendar.is_session(day):
        return None
    return stamp, day, pd.Timestamp(calendar.session_open(day))


def opening_session(scheduled: datetime, calendar_name: str = NYSE) -> pd.Timestamp | None:
    """The session whose open falls in the minute before `scheduled` (the opening check)."""
    found = _session_on(scheduled, calendar_name)
    if found is None:
        return None
    stamp, day, opened = found
    return day if timedelta(0) <= stamp - opened <= timedelta(minutes=1) else None


def closing_session(
    scheduled: datetime, delay_minutes: int, calendar_name: str = NYSE
) -> pd.Timestamp | None:
    """The session whose official close + `delay_minutes` is `scheduled` (else None)."""
    found = _session_on(scheduled, calendar_name)
    if found is None:
        return None
    stamp, day, _ = found
    closed = pd.Timestamp(session_calendar(calendar_name).session_close(day))
    return day if stamp == closed + timedelta(minutes=delay_minutes) else None


async def closing_check(
    live: LiveFeed, poll: YahooPollFeed, session: pd.Timestamp, now: datetime
) -> FeedTick | None:
    """Append the session's daily bars, then evaluate its official closes as a "close" tick."""
    symbols = [s for s in live.symbols if calendar_for_symbol(s) == NYSE]
    added = await backfill(poll, live.market.cache, live.market.last_known(symbols), now)
    live.market.invalidate(added)
    close_at = pd.Timestamp(session_calendar(NYSE).session_close(session)).to_pydatetime()
    prints: dict[str, Print] = {}
    for symbol in symbols:
        table = live.market.table(symbol)
        if table is None or session not in table.frame.index:
            continue
        row = table.frame.loc[session]
        if pd.isna(row["close"]):
            continue
        prints[symbol] = Print(
            symbol,
            float(row["close"]),
            close_at,
            "regular",
            "Yahoo daily bar",
            open=None if pd.isna(row["open"]) else float(row["open"]),
            high=None if pd.isna(row["high"]) else float(row["high"]),
            low=None if pd.isna(row["low"]) else float(row["low"]),
        )
    log.info("closing_check session=%s closes=%d", session.date(), len(prints))
    if not prints:
        return None
    return await live.apply(PrintBatch(prints, now, "Yahoo daily bar"), "close")


CloseCheck = Callable[[pd.Timestamp, datetime], Awaitable[Any]]
"""What the closing check does for a session at a time (live: `closing_check`)."""


def market_jobs(
    live: LiveFeed,
    poll: YahooPollFeed | None,
    settings: SchedulerSettings,
    *,
    close_check: CloseCheck | None = None,
    extra: Mapping[str, Callable[[datetime], Awaitable[Any]]] | None = None,
) -> list[Job]:
    """The NYSE opening check, the poll, the closing check and the KRX checks, as `Job`s.

    The opening check comes first, so at 09:31 it (not the poll) evaluates the open. The
    closing check defaults to `closing_check` over `poll` (the official daily bars); a
    replay passes a forced poll instead.
    """
    delay = settings.closing_check_delay_minutes
    korean = [s for s in live.symbols if calendar_for_symbol(s) == KRX]

    async def poll_job(scheduled: datetime) -> None:
        if opening_session(scheduled) is not None:
            return  # the opening check reads the open (as an "open" print)
        if should_poll(scheduled, settings):
            await live.poll_tick()

    async def opening_job(scheduled: datetime) -> None:
        if opening_session(scheduled) is not None:
            await live.poll_tick("open", force=True)

    async def default_close(session: pd.Timestamp, now: datetime) -> Any:
        if poll is None:
            return await live.poll_tick("close", force=True)
        return await closing_check(live, poll, session, now)

    async def closing_job(scheduled: datetime) -> None:
        session = closing_session(scheduled, delay)
        if session is not None:
            await (close_check or default_close)(session, live.clock.now())

    async def krx_open_job(scheduled: datetime) -> None:
        if korean and opening_session(scheduled, KRX) is not None:
            await live.poll_tick(force=True, symbols=korean)

    async def krx_close_job(scheduled: datetime) -> None:
        if korean and closing_session(scheduled, delay, KRX) is not None:
            await live.poll_tick(force=True, symbols=korean)

    poll_grace = settings.poll_seconds / 2
    # The checks that define the day (opens, closes, digests) catch up: a replay runs each
    # one however late its loop is; a missed poll is skipped.
    jobs = [
        Job("nyse-open", daily_at(9, 31, NEW_YORK), opening_job, 900, catch_up=True),
        Job("poll", every(settings.poll_seconds), poll_job, grace_seconds=poll_grace),
        Job("nyse-close", _closing_trigger(delay), closing_job, 1800, catch_up=True),
    ]
    if settings.krx_checks:
        jobs += [
            Job("krx-open", daily_at(9, 1, SEOUL), krx_open_job, 900, catch_up=True),
            Job("krx-close", daily_at(15, 30 + delay, SEOUL), krx_close_job, 1800, catch_up=True),
        ]
    for job_id, function in (extra or {}).items():  # idempotent jobs
        jobs.append(Job(job_id, every(60), function, grace_seconds=3600, catch_up=True))
    return jobs


def _closing_trigger(delay: int) -> Any:
    """Fires at 13:MM and 16:MM New York (early and regular closes + `delay` minutes)."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(day_of_week="mon-fri", hour="13,16", minute=delay, timezone=NEW_YORK)
