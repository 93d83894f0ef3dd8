"""The App's market-data wiring: the vendor, the polled feed and stream, the live market,
the live feed that turns prints into ticks for the claimer, and the outside-session stand-ins.

`MarketParts` is a base of `bot.app.App`; its parts are built on first use like the App's own.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ports import Clock, DailyBars, PriceFeed
from bot.services import Core
from bot.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from bot.domain.trading_day import TradingDay
    from bot.feeds.live import LiveFeed
    from bot.feeds.live_market import LiveMarket
    from bot.feeds.vendors import VendorFeeds
    from bot.prometheus import Metrics
    from jobs.pipeline import AlertClaimer


class MarketParts:
    """The market-data parts of the App (the App supplies the rest it reads)."""

    settings: Settings
    clock: Clock
    replay: pd.Timestamp | None
    cache_dir: Path | None

    if TYPE_CHECKING:

        @property
        def core(self) -> Core:
            """Market history, presets, settings (the App's)."""
            ...

        @property
        def metrics(self) -> Metrics:
            """The process's metrics (the App's)."""
            ...

        @property
        def claimer(self) -> AlertClaimer:
            """Where the live feed's ticks go (the App's)."""
            ...

    @cached_property
    def vendor(self) -> VendorFeeds:
        """The adapters of `[feed] vendor` behind the quotes and daily-bars ports."""
        from bot.feeds.vendors import build_vendor

        return build_vendor(self.settings.feed)

    @cached_property
    def replay_day(self) -> TradingDay | None:
        """A replay's trading day round the clock: every market's prints and the intraday
        bars, from the previous close of the default market to the digest after its close."""
        if self.replay is None:
            return None
        from bot.feeds.replay_day import load_trading_day

        return load_trading_day(self.core, self.replay)

    @cached_property
    def feed(self) -> PriceFeed:
        """The polled prints: the vendor's (live) or the replayed trading day's."""
        if self.replay is not None:
            from bot.feeds.replay_feed import ReplayFeed

            return ReplayFeed(self.core.market, self.clock, self.replay_day)
        return self.vendor.quotes

    @cached_property
    def daily_bars(self) -> DailyBars | None:
        """Where the backfill and the closing check fetch daily bars (live only): the
        polled feed when it serves daily bars too, else the vendor's."""
        if self.replay is not None:
            return None
        feed = self.feed
        return feed if isinstance(feed, DailyBars) else self.vendor.bars

    @cached_property
    def stream(self) -> PriceFeed | None:
        """The vendor's push stream (live, unless `[feed] stream = false`)."""
        if self.replay is not None or not self.settings.feed.stream:
            return None
        return self.vendor.stream

    @cached_property
    def market(self) -> LiveMarket:
        """The shipped history joined with the backfilled daily bars."""
        from bot.feeds.backfill import BackfillCache
        from bot.feeds.live_market import LiveMarket

        directory = self.cache_dir or self.settings.feed.cache_path
        return LiveMarket(self.core.market, BackfillCache(directory))

    @cached_property
    def live(self) -> LiveFeed:
        """The live feed: prints → guarded, joined ticks → the claimer (a replay: every
        symbol of its trading day, each print watched for the replayed session)."""
        from bot.feeds.live import LiveFeed

        poll, metrics, day = self.feed, self.metrics, self.replay_day
        symbols = self.settings.watched_symbols()
        if day is not None:
            symbols = list(dict.fromkeys([*symbols, *day.symbols]))
        live = LiveFeed(
            self.market,
            symbols,
            poll,
            stream=self.stream,
            clock=self.clock,
            settings=self.settings.feed,
            extended=self.extended,
            on_tick=self.claimer,
            watch_session=self.replay,
        )

        def on_poll(reason: str) -> None:
            metrics.polls.labels(poll.name, reason.replace(" ", "_")).inc()

        live.on_poll = on_poll
        live.on_rate_limit = metrics.rate_limits.labels(self.settings.feed.vendor).inc
        return live

    @cached_property
    def extended(self) -> dict[str, str]:
        """Index → the symbol standing in for it outside the session: the configured
        extended proxies, and in a replay the chip ETF with intraday bars that day."""
        day = self.replay_day
        if day is not None:
            from bot.feeds.replay_day import day_extended

            return day_extended(self.core, day)
        from bot.feeds.live import extended_proxies

        return extended_proxies(self.settings.aliases)
