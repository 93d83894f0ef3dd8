"""Calendar-aware market jobs, generated from the markets table: polls and each market's
opening and closing checks.

Cron triggers know time zones, not holidays: every job asks its market's calendar (the one
calendar API, `bot.domain.markets`) whether the market trades at the scheduled time and
stays silent otherwise (2025-01-09 and Good Friday are closed on XNYS; 2025-11-28 closes at
13:00, so its closing check runs at 13:10; XKRX is closed 2025-01-27 → 01-30). The primary
market's closing check evaluates the session's official daily bars (appended to the
backfill cache, through the daily-bars port), not the last 1-minute print. The jobs name
no vendor: they read the `LiveQuotes` and `DailyBars` ports.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd

from bot.domain.markets import Market, MarketBook, markets
from bot.ports import DailyBars, FeedTick, LiveQuotes
from bot.settings import Settings
from jobs.scheduler import AtMoments, Job, daily_at, every

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerSettings:
    """`[scheduler]` plus the feed's poll interval and pre-market switch."""

    poll_seconds: float = 60.0
    premarket: bool = True
    closing_check_delay_minutes: int = 10
    claim_ttl_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulerSettings:
        """`[scheduler]`, with the poll interval and pre-market switch of `[feed]`."""
        return cls(
            poll_seconds=settings.feed.poll_seconds,
            premarket=settings.feed.premarket,
            **settings.scheduler.model_dump(),
        )


def should_poll(
    moment: datetime, settings: SchedulerSettings, market: Market | None = None
) -> bool:
    """Polls run while `market` (the primary one by default) is in its regular session, and
    in its pre-market window when enabled."""
    phase = (market or markets().default).phase(moment)
    return phase == "regular" or (settings.premarket and phase == "pre")


def opening_session(scheduled: datetime, market: Market | None = None) -> pd.Timestamp | None:
    """The session whose open falls in the minute before `scheduled` (the opening check)."""
    market = market or markets().default
    session = market.session_of(scheduled)
    if session is None:
        return None
    since = scheduled - market.open_of(session)
    return session if timedelta(0) <= since <= timedelta(minutes=1) else None


def closing_session(
    scheduled: datetime, delay_minutes: int, market: Market | None = None
) -> pd.Timestamp | None:
    """The session whose official close + `delay_minutes` is `scheduled` (else None)."""
    market = market or markets().default
    session = market.session_of(scheduled)
    if session is None:
        return None
    closed = market.close_of(session)
    return session if scheduled == closed + timedelta(minutes=delay_minutes) else None


async def closing_check(
    live: LiveQuotes,
    bars: DailyBars,
    session: pd.Timestamp,
    now: datetime,
    book: MarketBook | None = None,
) -> FeedTick | None:
    """The primary market's symbols' official closes of `session`, as a "close" tick."""
    book = book or markets()
    symbols = [s for s in live.symbols if book.for_symbol(s) is book.default]
    return await live.close_tick(bars, session, symbols, now)


CloseCheck = Callable[[pd.Timestamp, datetime], Awaitable[Any]]
"""What the closing check does for a session at a time (live: `closing_check`)."""


def market_jobs(
    live: LiveQuotes,
    bars: DailyBars | None,
    settings: SchedulerSettings,
    *,
    close_check: CloseCheck | None = None,
    extra: Mapping[str, Callable[[datetime], Awaitable[Any]]] | None = None,
    book: MarketBook | None = None,
) -> list[Job]:
    """Every market's opening and closing checks and the poll, as `Job`s.

    The primary market's opening check comes first, so at its open + 1 min it (not the
    poll) evaluates the open. Its closing check defaults to `closing_check` over `bars`
    (the official daily bars); a replay passes a forced poll instead. Another market's
    checks force a poll of its own symbols (its closing check backfills their daily bars
    first). The poll reads the symbols of the markets that trade at that minute.
    """
    book = book or markets()
    primary = book.default
    delay = settings.closing_check_delay_minutes

    by_market = {m.name: [s for s in live.symbols if book.for_symbol(s) is m] for m in book}

    async def poll_job(scheduled: datetime) -> None:
        if opening_session(scheduled, primary) is not None:
            return  # the opening check reads the open (as an "open" print)
        # Each market's symbols are polled while that market trades; a closed one is not.
        trading = [m.name for m in book if should_poll(scheduled, settings, m)]
        symbols = [s for name in trading for s in by_market[name]]
        if symbols:
            await live.poll_tick(symbols=None if len(symbols) == len(live.symbols) else symbols)

    async def default_close(session: pd.Timestamp, now: datetime) -> Any:
        if bars is None:
            return await live.poll_tick("close", force=True)
        return await closing_check(live, bars, session, now, book)

    def checks(market: Market) -> list[Job]:
        prefix = (market.label or market.name).lower()
        own = [s for s in live.symbols if book.for_symbol(s) is market]
        is_primary = market is primary

        async def opening_job(scheduled: datetime) -> None:
            if opening_session(scheduled, market) is None:
                return
            if is_primary:
                await live.poll_tick("open", force=True)
            elif own:
                await live.poll_tick(force=True, symbols=own)

        async def closing_job(scheduled: datetime) -> None:
            session = closing_session(scheduled, delay, market)
            if session is None:
                return
            if is_primary:
                await (close_check or default_close)(session, live.clock.now())
            elif own:
                if bars is not None:  # its closed session's daily bars, then its last prints
                    await live.catch_up(bars, own)
                await live.poll_tick(force=True, symbols=own)

        found: list[Job] = []
        if market.open_check is not None:
            found.append(
                Job(
                    f"{prefix}-open",
                    _at(market.open_check, market),
                    opening_job,
                    900,
                    catch_up=True,
                )
            )
        if market.close_checks:
            trigger = _closing_trigger(market, delay)
            found.append(Job(f"{prefix}-close", trigger, closing_job, 1800, catch_up=True))
        return found

    jobs = checks(primary)[:1]
    jobs.append(Job("poll", every(settings.poll_seconds), poll_job, settings.poll_seconds / 2))
    jobs += checks(primary)[1:]
    for market in book:
        if market is primary or not market.checks:
            continue
        jobs += checks(market)
    # The checks that define the day (opens, closes, digests) catch up: a replay runs each
    # one however late its loop is; a missed poll is skipped.
    for job_id, function in (extra or {}).items():  # idempotent jobs
        jobs.append(Job(job_id, every(60), function, grace_seconds=3600, catch_up=True))
    return jobs


def tape_job(
    live: LiveQuotes, prints: Mapping[datetime, Sequence[str]], book: MarketBook | None = None
) -> Job:
    """A replay's intraday bars as events: at each bar's end, a poll of the symbols that print
    then (a minute's poll may be passed over at a high speed; a bar may not). The default
    market's opening minute is left to the opening check, as the poll leaves it."""
    primary = (book or markets()).default

    async def run(scheduled: datetime) -> None:
        symbols = prints.get(scheduled)
        if symbols and opening_session(scheduled, primary) is None:
            await live.poll_tick(symbols=symbols)

    return Job("tape", AtMoments(list(prints)), run, grace_seconds=3600, catch_up=True)


def _at(clock: time, market: Market) -> Any:
    return daily_at(clock.hour, clock.minute, market.zone)


def _closing_trigger(market: Market, delay: int) -> Any:
    """Fires at each of the market's closes (regular and early) + `delay` minutes, local."""
    from apscheduler.triggers.cron import CronTrigger

    fires = sorted(
        {
            (datetime.combine(datetime.min, close) + timedelta(minutes=delay)).time()
            for close in market.close_checks
        }
    )
    minutes = {fire.minute for fire in fires}
    if len(minutes) == 1:  # one cron: 13:10 and 16:10 New York
        hours = ",".join(str(fire.hour) for fire in fires)
        return CronTrigger(
            day_of_week="mon-fri", hour=hours, minute=minutes.pop(), timezone=market.zone
        )
    from apscheduler.triggers.combining import OrTrigger

    return OrTrigger([_at(fire, market) for fire in fires])
