"""The guards through the live feed, yfinance and the fake: staleness limits and splits.

A regular-session print is stale after `stale_seconds` (5 min), an extended-session one
only after `stale_extended_seconds` (30 min); a jump the size of a split — forward or
reverse — fires nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.rules.evaluate import CompiledRules
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, LiveFeed, extended_proxies
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.services import Core
from tests.fakes.yahoo_fake import SymbolData, YahooFake, minute_bars

from .conftest import StepClock, at

OPEN = 1_737_988_200  # 2025-01-27 09:30 New York (14:30 UTC)
PRE = OPEN - 5400  # 08:00 New York


def _feed(
    core: Core, poll: YahooPollFeed, clock: StepClock, cache: Path, symbols: list[str]
) -> LiveFeed:
    market = LiveMarket(core.market, BackfillCache(cache))
    extended = extended_proxies(core.settings.aliases)
    settings = FeedSettings(stale_seconds=300.0, stale_extended_seconds=1800.0)
    return LiveFeed(
        market, symbols, poll, stream=None, clock=clock, settings=settings, extended=extended
    )


async def _stale_after(
    core: Core, yahoo: YahooFake, poll: YahooPollFeed, cache: Path, start: int, now: str
) -> bool:
    yahoo.symbols["SOXX"] = SymbolData({"1m": minute_bars(start, [215.0, 214.0])})
    tick = await _feed(core, poll, StepClock(at(now)), cache, ["SOXX"]).poll_tick(force=True)
    assert tick is not None
    return "SOXX" in tick.stale


@pytest.mark.parametrize(("minutes", "stale"), [(4, False), (6, True)], ids=["4-min", "6-min"])
async def test_a_regular_session_print_is_stale_after_five_minutes(
    core: Core,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    minutes: int,
    stale: bool,
) -> None:
    # the last bar prints at 09:31; the poll reads it `minutes` later
    now = f"2025-01-27T14:{31 + minutes:02d}:00"
    assert await _stale_after(core, fresh_yahoo, poll_feed, cache_dir, OPEN, now) is stale


@pytest.mark.parametrize(
    ("minutes", "stale"), [(6, False), (29, False), (31, True)], ids=["6-min", "29-min", "31-min"]
)
async def test_a_pre_market_print_is_stale_only_after_thirty_minutes(
    core: Core,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    minutes: int,
    stale: bool,
) -> None:
    # the last bar prints at 08:01 New York; still pre-market when read
    now = f"2025-01-27T13:{1 + minutes:02d}:00"
    assert await _stale_after(core, fresh_yahoo, poll_feed, cache_dir, PRE, now) is stale


@pytest.mark.parametrize(
    ("price", "ratio"),
    [(71.31, "2:1"), (1426.2, "10:1"), (47.54, "3:1"), (570.48, "4:1")],
    ids=["2-for-1", "1-for-10-reverse", "3-for-1", "1-for-4-reverse"],
)
async def test_a_split_sized_jump_either_way_fires_nothing(
    core: Core,
    preset_rules: CompiledRules,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    price: float,
    ratio: str,
) -> None:
    fresh_yahoo.symbols["NVDA"] = SymbolData({"1m": minute_bars(OPEN, [price])})  # vs 142.62
    fresh_yahoo.symbols["SPY"] = SymbolData({"1m": minute_bars(OPEN, [607.0])})
    feed = _feed(core, poll_feed, StepClock(at("2025-01-27T14:31:00")), cache_dir, ["NVDA", "SPY"])
    tick = await feed.poll_tick()
    assert tick is not None and "NVDA" in tick.stale
    assert f"({ratio})" in feed.state.stale["NVDA"]
    assert "nvda_decoupling" not in {r.id for r in preset_rules.fired(tick.snapshot)}


async def test_a_real_crash_that_is_no_split_ratio_is_not_mistaken_for_one(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    fresh_yahoo.symbols["NVDA"] = SymbolData({"1m": minute_bars(OPEN, [118.42])})  # −16.97 %
    feed = _feed(core, poll_feed, StepClock(at("2025-01-27T14:31:00")), cache_dir, ["NVDA"])
    tick = await feed.poll_tick()
    assert tick is not None and "NVDA" not in tick.stale
