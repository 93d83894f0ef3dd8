"""The closing check evaluates the session's official daily bar, appended to the cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, LiveFeed
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.services import Core
from bot.stores.memory import MemoryStore
from jobs.market_jobs import SchedulerSettings, closing_check, market_jobs
from jobs.scheduler import Scheduler
from tests.fakes.yahoo_fake import Bar, SymbolData, YahooFake, minute_bars

from .conftest import StepClock, at


def _daily(day: str, close: float) -> Bar:
    epoch = int(pd.Timestamp(day, tz="America/New_York").timestamp()) + 9 * 3600 + 1800
    return Bar(epoch, close - 1, close + 1, close - 2, close, 1e6)


async def test_the_close_tick_uses_the_official_close_not_the_last_minute_print(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    # 2026-08-24, the first session after NVDA's shipped file ends (214.72 on the 21st).
    last_minute = int(pd.Timestamp("2026-08-24 15:59", tz="America/New_York").timestamp())
    fresh_yahoo.symbols["NVDA"] = SymbolData(
        {"1d": [_daily("2026-08-24", 220.0)], "1m": minute_bars(last_minute, [219.5])}
    )
    clock = StepClock(at("2026-08-24T20:10:00"))
    market = LiveMarket(core.market, BackfillCache(cache_dir))
    live = LiveFeed(market, ["NVDA"], poll_feed, stream=None, clock=clock, settings=FeedSettings())
    tick = await closing_check(live, poll_feed, pd.Timestamp("2026-08-24"), clock.now())
    assert tick is not None and tick.kind == "close"
    quote = tick.snapshot.quote("NVDA")
    assert quote.last == pytest.approx(220.0)  # type: ignore[union-attr]
    assert quote.metric("pct") == pytest.approx((220 / 214.72 - 1) * 100)  # type: ignore[union-attr]
    assert (cache_dir / "NVDA.csv").exists()


async def test_the_scheduler_runs_the_closing_check_once_at_close_plus_ten(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    fresh_yahoo.symbols["NVDA"] = SymbolData({"1d": [_daily("2026-08-24", 220.0)]})
    clock = StepClock(at("2026-08-24T20:00:30"))
    market = LiveMarket(core.market, BackfillCache(cache_dir))
    live = LiveFeed(market, ["NVDA"], poll_feed, stream=None, clock=clock, settings=FeedSettings())
    jobs = market_jobs(live, poll_feed, SchedulerSettings())
    scheduler = Scheduler([j for j in jobs if j.id == "nyse-close"], clock, MemoryStore())
    assert scheduler.next_due() == at("2026-08-24T20:10:00")
    clock.current = at("2026-08-24T20:10:01")
    outcomes = await scheduler.run_due()
    assert [o.outcome for o in outcomes] == ["ran"]
    assert market.last_known(["NVDA"])["NVDA"] == pd.Timestamp("2026-08-24")
