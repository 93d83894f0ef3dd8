"""Composition root: `bootstrap(settings, clock=..., **parts)` builds the whole bot.

Every entry point goes through it — `run` (live and `--replay`), `console`, `outbox`,
`doctor`, `discord sync`, `slack web|socket`, the test harness and the replay pipeline —
and gets an `App` holding every part: core, store, services, command registry, market-data
feeds, live feed, rule book, scheduler and its jobs, renderer, delivery worker, sinks and
platform runtimes, metrics. A part handed in is used as given (the way cosmicpython's
`bootstrap` takes its fakes); a part nobody reads is never built, so `console` imports no
chat platform, `outbox` reads no market history, and `backtest` does not bootstrap at all.
`bot/runner.py` only starts and stops what the App holds; the market-data parts (feeds, live
market, live feed) are wired in `bot/app_market.py`, a base of the App.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Collection, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bot.app_market import MarketParts
from bot.domain.library import load_library
from bot.domain.market import MarketData
from bot.domain.markets import install_markets
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import load_presets
from bot.ports import ChatSink, Clock, NewsDesk, PlatformRuntime, PriceFeed, TimedSink
from bot.ports.store import Store
from bot.services import Core, Services, SystemClock
from bot.settings import DeliveryTable, Settings

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from bot.domain.trading_day import TradingDay
    from bot.prometheus import Metrics
    from handlers.registry import CommandRegistry
    from jobs.market_jobs import SchedulerSettings
    from jobs.pipeline import AlertClaimer, RunReport
    from jobs.render import CardRenderer
    from jobs.rule_book import RuleBook
    from jobs.scheduler import Job, Scheduler


def build_services(core: Core, store: Store, *, clock: Clock | None = None) -> Services:
    """Everything the commands need: the core, the store, the views, compiled presets, the
    trading clock (the wall clock unless a replay hands in its own)."""
    views = load_library(core.settings.views_dir, shock_kinds=core.presets)
    compiled = CompiledRules(list(core.presets.values()))
    return Services(core, store, views, compiled, clock or SystemClock())


def build_core(
    settings: Settings, data_dir: Path | None = None, *, lazy: bool | None = None
) -> Core:
    """Index market history (the shipped one, or `data_dir`) and load the presets.

    The shipped history is read lazily by default (each file on first use: a command's cost
    grows with what it reads); a user's own `data_dir` is read and checked up front, so its
    warnings are complete. `lazy` overrides either.
    """
    install_markets(settings.market_book())  # the process's markets, from [markets]
    directory = data_dir or settings.history_dir
    source = "shipped history" if data_dir is None else f"data from {directory}"
    market, warnings = MarketData.load(
        directory,
        settings.alias_table(),
        source,
        universe=settings.universe.symbols,
        lazy=data_dir is None if lazy is None else lazy,
    )
    presets = load_presets(settings.preset_tables(), market.symbols)
    return Core(settings, market, presets, tuple(warnings))


class DeliveryWorker(Protocol):
    """Delivers the outbox through `sinks` until `stop` is set (the runner's worker task)."""

    async def __call__(self, sinks: Mapping[str, ChatSink], stop: asyncio.Event) -> None:
        """Run until `stop`."""
        ...


def delivery_timing(sinks: Mapping[str, ChatSink], config: DeliveryTable) -> tuple[float, float]:
    """The send timeout and lease (real seconds): longer than any sink's own worst wait
    (discord.py sleeps through rate limits of up to 30 s inside a send), lease twice that."""
    timeout = config.timeout_seconds
    for sink in sinks.values():
        if isinstance(sink, TimedSink):
            timeout = max(timeout, float(sink.send_timeout) + 5)
    lease = max(config.lease_seconds, 2 * timeout)
    return timeout, lease


class App(MarketParts):
    """Every part of one bot process. Each part is built on first use from the settings,
    the clock and the parts it needs, unless `bootstrap` was handed it."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        store: Store,
        *,
        env: Mapping[str, str],
        replay: pd.Timestamp | None = None,
        deliver: bool = True,
        cache_dir: Path | None = None,
        out: TextIO | None = None,
        platforms: Collection[str] | None = None,
        data_dir: Path | None = None,
        given: Mapping[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.env = env
        self.replay = replay
        """The replayed session (`run --replay`); None for a live bot."""
        self.deliver = deliver
        """Whether the chat platforms are built (a replay without `--deliver`: console only)."""
        self.cache_dir = cache_dir
        self.out = sys.stdout if out is None else out
        """Where the console sink prints deliveries and the run its report."""
        self.platforms = None if platforms is None else frozenset(platforms)
        """Which registered chat platforms to build (None: every configured one)."""
        self.data_dir = data_dir
        self.__dict__.update(given or {})  # a part handed in takes the place of the built one

    # ---------------------------------------------------------------- commands

    @cached_property
    def core(self) -> Core:
        """Market history, presets, settings."""
        return build_core(self.settings, self.data_dir)

    @cached_property
    def services(self) -> Services:
        """What handlers and jobs share."""
        services = build_services(self.core, self.store, clock=self.clock)
        services.news = self.news
        return services

    @cached_property
    def news(self) -> NewsDesk | None:
        """Headlines for cards and the synthesis model (`[news]`, `[news_names]`, `[summary]`;
        the model's key from `env`); None when `[news] enabled = false`."""
        from bot.news.build import build_news

        return build_news(self.settings, self.env)

    @cached_property
    def registry(self) -> CommandRegistry:
        """The chat commands."""
        from handlers.registry import load_registry

        return load_registry()

    # ---------------------------------------------------------------- alerts

    @cached_property
    def book(self) -> RuleBook:
        """The presets and the channels' custom rules, compiled."""
        from jobs.rule_book import RuleBook

        refresh = self.settings.feed.custom_rules_refresh_seconds
        presets = list(self.core.presets.values())
        # A replay's stand-ins (SMH for SOX on 2025-01-27) are no instrument's own proxy.
        stand_ins = self.extended if self.replay is not None else {}
        return RuleBook(
            self.core.market.symbols, presets, refresh_seconds=refresh, stand_ins=stand_ins
        )

    @cached_property
    def claimer(self) -> AlertClaimer:
        """Each tick evaluated and its firings claimed into the outbox."""
        from jobs.pipeline import AlertClaimer

        return AlertClaimer(
            self.services, self.book, self.report, self.metrics, live=self.replay is None
        )

    @cached_property
    def scheduler_settings(self) -> SchedulerSettings:
        """`[scheduler]` with the feed's poll interval."""
        from jobs.market_jobs import SchedulerSettings

        return SchedulerSettings.from_settings(self.settings)

    @cached_property
    def jobs(self) -> list[Job]:
        """Polls, the opening and closing checks, the KRX checks, the digests and the end of
        snoozes."""
        from jobs.digest import run_digests
        from jobs.market_jobs import market_jobs
        from jobs.snooze import release_ended_snoozes

        services, claimer = self.services, self.claimer
        digest_settings = self.settings.digest
        replay_of = self.replay.date().isoformat() if self.replay is not None else None

        async def digest_job(scheduled: datetime) -> None:
            # The scheduled minute, not the clock's "now": an accelerated clock's loop lag is
            # not lateness; a slot missed while the process was down still is. Digests go
            # to the platforms alerts are claimed for.
            await run_digests(
                services,
                scheduled,
                digest_settings,
                replay_of=replay_of,
                platforms=claimer.platforms,
            )
            # The same minute releases the snoozes that ended: their held alerts go out as one
            # summary (or are dropped). One job, so a fast replay claims no extra run a minute.
            await release_ended_snoozes(services, scheduled, platforms=claimer.platforms)

        jobs = market_jobs(
            self.live, self.daily_bars, self.scheduler_settings, extra={"digests": digest_job}
        )
        day = self.replay_day
        if day is not None:  # a replay's intraday bars, each at its end
            from jobs.market_jobs import tape_job

            jobs.append(tape_job(self.live, day.bar_prints()))
        return jobs

    @cached_property
    def scheduler(self) -> Scheduler:
        """The jobs on the clock, each run claimed in the store (built when first read: the
        runner reads it once the clock has started)."""
        from jobs.scheduler import Scheduler

        ttl = self.scheduler_settings.claim_ttl_seconds
        return Scheduler(self.jobs, self.clock, self.store, ttl)

    # ---------------------------------------------------------------- delivery

    @cached_property
    def renderer(self) -> CardRenderer:
        """Outbox items → Cards (charts rendered once per alert and language)."""
        from jobs.render import CardRenderer

        replay_of = self.replay.date() if self.replay is not None else None
        return CardRenderer(self.services, replay_of=replay_of)

    @cached_property
    def runtimes(self) -> list[PlatformRuntime]:
        """The configured chat platforms (none unless delivering); not started yet."""
        if not self.deliver:
            return []
        from bot.chat.platforms import PLATFORMS

        built = []
        for platform in PLATFORMS:
            if self.platforms is not None and platform.name not in self.platforms:
                continue
            if not platform.configured(self.env):
                continue
            runtime = platform.build(self.settings, self.services, self.registry, self.env)
            if runtime is not None:
                built.append(runtime)
        return built

    @cached_property
    def sinks(self) -> dict[str, ChatSink]:
        """The console's sink and each runtime's, counted into the report and metrics."""
        from bot.chat.console.sink import ConsoleSink
        from jobs.pipeline import CountingSink

        inner: list[ChatSink] = [ConsoleSink(out=self.out), *(r.sink for r in self.runtimes)]
        return {s.platform: CountingSink(s, self.report, self.metrics) for s in inner}

    @cached_property
    def worker_timing(self) -> tuple[float, float]:
        """The delivery worker's send timeout and lease (real seconds), from `[delivery]`
        and the platforms' own worst waits."""
        return delivery_timing({r.platform: r.sink for r in self.runtimes}, self.settings.delivery)

    @cached_property
    def worker(self) -> DeliveryWorker:
        """The delivery worker: leases outbox items and hands their Cards to the sinks."""
        from jobs.deliver import run_delivery_worker

        timeout, lease = self.worker_timing
        store, renderer, clock = self.store, self.renderer, self.clock
        worker_id = f"{socket.gethostname()}-{os.getpid()}"
        # A replay delivers in the session's order (the digest after the close alert),
        # however much faster a digest renders than a chart card.
        concurrency = 1 if self.replay is not None else 16

        async def deliver(sinks: Mapping[str, ChatSink], stop: asyncio.Event) -> None:
            await run_delivery_worker(
                store,
                sinks,
                renderer,
                worker_id,
                stop,
                clock=clock,
                idle_seconds=0.1,
                timeout=timeout,
                lease_seconds=lease,
                concurrency=concurrency,
            )

        return deliver

    # ---------------------------------------------------------------- observing

    @cached_property
    def metrics(self) -> Metrics:
        """The Prometheus metrics of this process."""
        from bot.prometheus import Metrics

        return Metrics()

    @cached_property
    def report(self) -> RunReport:
        """What this run did, printed when it ends."""
        from jobs.pipeline import RunReport

        return RunReport()

    async def close(self) -> None:
        """Close the news desk (if one was built) and the store."""
        news = self.__dict__.get("news")
        if news is not None:
            await news.close()
        await self.store.close()


async def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    store_url: str | None = None,
    create: bool = True,
    core: Core | None = None,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    replay: pd.Timestamp | None = None,
    deliver: bool = True,
    cache_dir: Path | None = None,
    out: TextIO | None = None,
    platforms: Collection[str] | None = None,
    registry: CommandRegistry | None = None,
    feed: PriceFeed | None = None,
    book: RuleBook | None = None,
    runtimes: Sequence[PlatformRuntime] | None = None,
    worker: DeliveryWorker | None = None,
    metrics: Metrics | None = None,
    news: NewsDesk | None = None,
    replay_day: TradingDay | None = None,
) -> App:
    """The App for `settings` on `clock` (the wall clock by default).

    The store is opened here (`store_url`, else `[store] url`; `create=False`: an existing
    one only) unless one is handed in, which is used as given. `env` is where platform
    tokens are read (default: the process environment). `replay` (a session) makes it a
    replay: the replay feed, no stream, no backfill; `deliver=False` builds no platform
    runtime; `out` is where the console sink prints; `platforms` limits the runtimes built
    to those names. Every other keyword is a part handed in instead of built.
    """
    given = {
        name: part
        for name, part in (
            ("core", core),
            ("registry", registry),
            ("feed", feed),
            ("book", book),
            ("runtimes", None if runtimes is None else list(runtimes)),
            ("worker", worker),
            ("metrics", metrics),
            ("news", news),
            ("replay_day", replay_day),
        )
        if part is not None
    }
    if store is None:
        from bot.stores import open_store

        store = await open_store(store_url or settings.store_url, create=create)
    return App(
        settings,
        clock or SystemClock(),
        store,
        env=os.environ if env is None else env,
        replay=replay,
        deliver=deliver,
        cache_dir=cache_dir,
        out=out,
        platforms=platforms,
        data_dir=data_dir,
        given=given,
    )
