"""The running bot: feeds, scheduler, evaluate → claim, delivery, sinks — live or replayed.

Live, the clock is the wall clock and the feeds are Yahoo's (stream + polls). In a replay
(`run --replay DATE --speed N`), the same scheduler, jobs, engine, store, outbox, delivery
and digests run on a `VirtualClock` with the `ReplayFeed`, from before the session's
pre-market until its digests have been delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from bot.app import App
from bot.chat.console_sink import ConsoleSink
from bot.domain.cards import Card
from bot.domain.snapshot import Quote
from bot.feeds.backfill import BackfillCache, backfill
from bot.feeds.live import FeedTick, LiveFeed, extended_proxies
from bot.feeds.live_market import LiveMarket
from bot.feeds.replay_feed import ReplayFeed
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.metrics import Metrics, sample_outbox_depth, serve_metrics
from bot.ports import ChatSink, DeliveryOutcome, PriceFeed
from bot.settings import PROJECT_ROOT, DeliveryTable, FeedSettings
from bot.stores.port import Channel
from jobs.deliver import describe_error
from jobs.digest import run_digests
from jobs.evaluate import PrintTick, RuleBook, evaluate_and_claim
from jobs.market_jobs import SchedulerSettings, market_jobs
from jobs.render import CardRenderer
from jobs.scheduler import Scheduler, daily_at, wait_until

log = logging.getLogger(__name__)

PLATFORM_MODULES = ("bot.chat.discord_app", "bot.chat.slack_app")


@dataclass
class RunReport:
    """What a run did: rules fired, deliveries per platform, scheduled runs claimed."""

    fired: list[str] = field(default_factory=list)
    delivered: Counter[str] = field(default_factory=Counter)
    claimed: int = 0
    ticks: int = 0


def delivery_timing(sinks: Mapping[str, ChatSink], config: DeliveryTable) -> tuple[float, float]:
    """The send timeout and lease (real seconds): longer than any sink's own worst wait
    (discord.py sleeps through rate limits of up to 30 s inside a send), lease twice that."""
    timeout = config.timeout_seconds
    for sink in sinks.values():
        inner = getattr(sink, "inner", sink)
        own = getattr(inner, "send_timeout", None)
        if isinstance(own, int | float):
            timeout = max(timeout, float(own) + 5)
    lease = max(config.lease_seconds, 2 * timeout)
    return timeout, lease


@dataclass
class CountingSink:
    """Wraps a sink: counts accepted deliveries per platform and logs each one."""

    inner: ChatSink
    report: RunReport
    metrics: Metrics
    queued_at: dict[str, float] = field(default_factory=dict)
    platform: str = ""

    def __post_init__(self) -> None:
        self.platform = self.platform or self.inner.platform

    async def pace(self, channel: Channel) -> None:
        await self.inner.pace(channel)

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        outcome = await self.inner.send(channel, card, idempotency_key)
        name = type(outcome).__name__.lower()
        self.metrics.deliveries.labels(self.platform, name).inc()
        if name == "delivered":
            self.report.delivered[self.platform] += 1
            queued = self.queued_at.pop(idempotency_key, None)
            if queued is not None:
                self.metrics.persisted_to_delivered.observe(max(0.0, time.time() - queued))
            log.info(
                "delivered platform=%s channel=%s key=%s",
                self.platform,
                channel.ref.key,
                idempotency_key,
            )
        elif name == "retryafter":
            self.metrics.rate_limits.labels(self.platform).inc()
        return outcome


def redact_secrets(text: str, env: Mapping[str, str]) -> str:
    """`text` with the value of every token or secret in `env` replaced by `***`."""
    for name, value in env.items():
        if len(value) >= 8 and any(word in name for word in ("TOKEN", "SECRET", "KEY")):
            text = text.replace(value, "***")
    return text


def _cache_path(text: str) -> Path:
    """`[feed] cache_dir`; a relative path lives under the project, beside data/history."""
    path = Path(text)
    return path if path.is_absolute() else PROJECT_ROOT / path


def watched_symbols(app: App) -> list[str]:
    """`[universe] symbols` plus every alias's symbol, proxy and extended proxy."""
    symbols = list(app.settings.universe.symbols)
    for alias in app.settings.aliases.values():
        symbols += [s for s in (alias.symbol, alias.proxy, alias.extended_proxy) if s]
    return list(dict.fromkeys(symbols))


def platform_runtimes(app: App, env: Mapping[str, str]) -> list[Any]:
    """The chat platforms whose modules exist and whose tokens are set."""
    runtimes = []
    for name in PLATFORM_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            log.debug("platform module %s not present; skipped", name)
            continue
        runtime = module.build_runtime(app.settings, app.services, app.registry, env)
        if runtime is not None:
            runtimes.append(runtime)
    return runtimes


async def replay_end(
    app: App, session: pd.Timestamp, close: datetime, platforms: Collection[str] | None = None
) -> datetime:
    """When a replay may stop: after the close check and the digests the session causes
    (to channels on `platforms`, if given)."""
    end = close + timedelta(minutes=15)
    subscriptions = await app.store.recipients("digest", kind="digest", now=close)
    settings = app.settings.digest
    for subscription in subscriptions:
        if platforms is not None and subscription.channel.platform not in platforms:
            continue
        hour, minute = (subscription.digest_time or settings.default_time).split(":")
        zone = subscription.digest_zone or settings.default_zone
        trigger = daily_at(int(hour), int(minute), zone, day_of_week="*")
        slot = trigger.get_next_fire_time(None, close)
        if slot is not None and slot - close < timedelta(days=1):
            end = max(end, slot.astimezone(close.tzinfo) + timedelta(minutes=2))
    return end


@dataclass
class Runner:
    """Assembles and runs one bot process."""

    app: App
    out: TextIO
    env: Mapping[str, str]
    replay: pd.Timestamp | None = None
    deliver: bool = True
    cache_dir: Path | None = None
    shutdown_seconds: float = 10.0
    report: RunReport = field(default_factory=RunReport)
    metrics: Metrics = field(default_factory=Metrics)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    queued_at: dict[str, float] = field(default_factory=dict)
    worker_failed: bool = False
    """The delivery worker ended on its own: the run stopped and exits 1."""
    platforms: frozenset[str] | None = None
    """A replay claims and queues only for the platforms it has a sink for; live: all."""

    def _feeds(self) -> tuple[PriceFeed, PriceFeed | None, FeedSettings]:
        feed = self.app.settings.feed
        if self.replay is not None:
            return ReplayFeed(self.app.core.market, self.app.services.clock), None, feed
        stream = YahooStreamFeed(feed.stream_url) if feed.stream else None
        return YahooPollFeed(), stream, feed

    async def _on_tick(self, tick: FeedTick, book: RuleBook) -> None:
        self.report.ticks += 1
        self.metrics.prints.labels(tick.source).inc(len(tick.changed))
        times = [q.as_of for q in map(tick.snapshot.quote, tick.changed) if isinstance(q, Quote)]
        printed_at = min(max(times), tick.snapshot.moment) if times else None
        print_tick = PrintTick(
            tick.snapshot, tick.kind, tick.changed, tick.expires_at, tick.stale, printed_at
        )
        outcome = await evaluate_and_claim(
            self.app.services, print_tick, book=book, platforms=self.platforms
        )
        if self.replay is None and outcome.items and times:
            latency = max(0.0, time.time() - max(times).timestamp())
            self.metrics.print_to_persisted.observe(latency)
        for item in outcome.items:
            self.queued_at[item.idempotency_key] = item.created_at or time.time()
        for event in outcome.fired:
            self.metrics.rules_fired.labels(event.rule_id).inc()
            line = f"{event.rule_id}[{event.severity}] at {tick.kind} {print_tick.at:%H:%M}Z"
            self.report.fired.append(line)

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (live) or until the replay's digests are delivered."""
        app, services = self.app, self.app.services
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._request_stop, signum)
        poll, stream, feed_settings = self._feeds()
        cache = BackfillCache(self.cache_dir or _cache_path(feed_settings.cache_dir))
        market = LiveMarket(app.core.market, cache)
        refresh = app.settings.feed.custom_rules_refresh_seconds
        book = RuleBook(
            app.core.market.symbols, list(app.core.presets.values()), refresh_seconds=refresh
        )

        async def on_tick(tick: FeedTick) -> None:
            await self._on_tick(tick, book)

        def on_poll(reason: str) -> None:
            self.metrics.polls.labels(poll.name, reason.replace(" ", "_")).inc()

        live = LiveFeed(
            market,
            watched_symbols(app),
            poll,
            stream=stream,
            clock=services.clock,
            settings=feed_settings,
            extended=extended_proxies(app.settings.aliases),
            on_tick=on_tick,
        )
        live.on_poll = on_poll
        live.on_rate_limit = self.metrics.rate_limits.labels("yahoo").inc
        if isinstance(poll, YahooPollFeed):
            try:
                added = await backfill(
                    poll, cache, market.last_known(live.symbols), services.clock.now()
                )
                market.invalidate(added)
            except Exception as exc:  # the shipped history still serves; say so, in one line
                log.warning(
                    "backfill failed (%s); running on the shipped history", describe_error(exc)
                )
        scheduler_settings = SchedulerSettings.from_settings(app.settings)
        digest_settings = app.settings.digest
        replay_of = self.replay.date().isoformat() if self.replay is not None else None

        async def digest_job(scheduled: datetime) -> None:
            # The scheduled minute, not the clock's "now": an accelerated clock's loop lag is
            # not lateness; a slot missed while the process was down still is.
            await run_digests(
                services, scheduled, digest_settings, replay_of=replay_of, platforms=self.platforms
            )

        jobs = market_jobs(
            live,
            poll if isinstance(poll, YahooPollFeed) else None,
            scheduler_settings,
            extra={"digests": digest_job},
        )
        for symbol in live.symbols:  # read and join every history before the clock runs
            market.table(symbol)
        sinks, runtimes = await self._sinks()
        # The clock starts once the sinks are up: platform logins take real seconds, which
        # are hours of trading time at a high replay speed.
        start_clock = getattr(services.clock, "start", None)
        if callable(start_clock):
            start_clock()
        scheduler = Scheduler(jobs, services.clock, app.store, scheduler_settings.claim_ttl_seconds)
        if self.replay is not None:  # never queue what a live worker would post later
            self.platforms = frozenset(sinks)
        renderer = CardRenderer(
            services, replay_of=self.replay.date() if self.replay is not None else None
        )
        delivery_stop = asyncio.Event()
        worker = asyncio.create_task(self._deliver(sinks, renderer, delivery_stop))
        worker.add_done_callback(lambda task: self._worker_ended(task, delivery_stop))
        background: list[asyncio.Task[None]] = []
        metrics_runner = None
        port = app.settings.metrics.port
        if port:  # metrics off: no outbox sampling either (it lists the whole outbox)
            metrics_runner = await serve_metrics(self.metrics, port, lambda: not self.stop.is_set())
            background.append(
                asyncio.create_task(sample_outbox_depth(self.metrics, app.store, delivery_stop))
            )
        if stream is not None:
            background.append(asyncio.create_task(live.run_stream(self.stop)))
        until = None
        if self.replay is not None:
            from bot.feeds.calendar import NYSE, session_calendar

            close = pd.Timestamp(session_calendar(NYSE).session_close(self.replay)).to_pydatetime()
            until = await replay_end(app, self.replay, close, self.platforms)
        started_late = getattr(services.clock, "real_start", None)
        if started_late is not None and time.time() - started_late > 1:
            log.warning(
                "run started %.1f s after its virtual clock (--start-at): %.0f virtual s skipped",
                time.time() - started_late,
                (time.time() - started_late) * getattr(services.clock, "speed", 1.0),
            )
        log.info(
            "run started mode=%s symbols=%d jobs=%d",
            "replay" if self.replay is not None else "live",
            len(live.symbols),
            len(jobs),
        )
        try:
            await scheduler.run(self.stop, until=until)
            if until is not None and not self.stop.is_set():
                await wait_until(services.clock, until, self.stop)
                await self._drain(sinks)
        finally:
            self.report.claimed = sum(1 for r in scheduler.history if r.outcome == "ran")
            delivery_stop.set()
            try:
                await asyncio.wait_for(worker, timeout=self.shutdown_seconds)
            except TimeoutError:
                log.warning(
                    "shutdown: in-flight deliveries did not finish in %.0f s", self.shutdown_seconds
                )
            except Exception:  # a worker that died was logged by _worker_ended
                pass
            self.stop.set()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for runtime in runtimes:
                with contextlib.suppress(Exception):
                    await runtime.close()
            if metrics_runner is not None:
                await metrics_runner.cleanup()
        self._print_report()
        return 1 if self.worker_failed else 0

    def _worker_ended(self, task: asyncio.Task[None], delivery_stop: asyncio.Event) -> None:
        """The delivery worker ended before it was told to: log one line and stop the run
        (a bot that no longer delivers must not keep claiming alerts)."""
        if task.cancelled():
            return
        error = task.exception()
        if delivery_stop.is_set():
            if error is not None:
                log.error("delivery worker failed while stopping: %s", describe_error(error))
            return
        log.error(
            "delivery worker ended unexpectedly (%s); stopping the run",
            describe_error(error) if error is not None else "returned",
        )
        self.worker_failed = True
        self.stop.set()

    def _request_stop(self, signum: int) -> None:
        log.warning(
            "shutdown requested signal=%s: no new work; finishing in-flight deliveries",
            signal.Signals(signum).name,
        )
        self.stop.set()

    async def _sinks(self) -> tuple[dict[str, ChatSink], list[Any]]:
        sinks: dict[str, ChatSink] = {
            "console": CountingSink(
                ConsoleSink(out=self.out), self.report, self.metrics, self.queued_at
            )
        }
        runtimes: list[Any] = []
        if self.deliver:
            # A SettingsError (e.g. Slack without SLACK_APP_TOKEN) propagates: `run` exits 2.
            for runtime in platform_runtimes(self.app, self.env):
                try:
                    await runtime.start()
                except Exception as exc:  # DNS, login refused…: run on without that platform
                    log.warning(
                        "platform %s did not start (%s); running without it, its items wait "
                        "in the outbox",
                        runtime.platform,
                        redact_secrets(describe_error(exc), self.env),
                    )
                    with contextlib.suppress(Exception):
                        await runtime.close()
                    continue
                runtimes.append(runtime)
                sinks[runtime.platform] = CountingSink(
                    runtime.sink, self.report, self.metrics, self.queued_at
                )
        return sinks, runtimes

    async def _deliver(
        self, sinks: Mapping[str, ChatSink], renderer: CardRenderer, stop: asyncio.Event
    ) -> None:
        from jobs.deliver import run_delivery_worker

        worker_id = f"{socket.gethostname()}-{os.getpid()}"
        timeout, lease = delivery_timing(sinks, self.app.settings.delivery)
        await run_delivery_worker(
            self.app.store,
            sinks,
            renderer,
            worker_id,
            stop,
            clock=self.app.services.clock,
            idle_seconds=0.1,
            timeout=timeout,
            lease_seconds=lease,
            # A replay delivers in the session's order (the digest after the close alert),
            # however much faster a digest renders than a chart card.
            concurrency=1 if self.replay is not None else 16,
        )

    async def _drain(self, sinks: Mapping[str, ChatSink], timeout: float = 30.0) -> None:
        """Wait (real time, bounded) until no pending item for our platforms is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and not self.stop.is_set():
            items = await self.app.store.list_outbox()
            if not any(i.state == "pending" and i.channel.platform in sinks for i in items):
                return
            await asyncio.sleep(0.05)

    def _print_report(self) -> None:
        report = self.report
        label = f"replay of {self.replay.date()}" if self.replay is not None else "live run"
        print(
            f"== {label}: {len(report.fired)} rule firing(s), "
            f"{report.claimed} scheduled run(s) claimed here",
            file=self.out,
        )
        for line in report.fired:
            print(f"fired: {line}", file=self.out)
        platforms = ", ".join(f"{p}={n}" for p, n in sorted(report.delivered.items())) or "none"
        print(f"delivered: {platforms}", file=self.out, flush=True)
