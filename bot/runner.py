"""Starts and stops one bot process, live or replayed, from the parts `bootstrap` built.

Live, the clock is the wall clock and the feeds are the vendor's (stream + polls). In a replay
(`run --replay DATE --speed N`), the same scheduler, jobs, engine, store, outbox, delivery
and digests run on a `VirtualClock` with the `ReplayFeed` over the trading day round the clock,
from the previous New York close until DATE's digests have been delivered; the clock does not
pass an alert's expiry before the worker has delivered it (`ExpiryBarrier`). The runner
builds nothing: it starts the platforms, the clock, the delivery worker, the metrics server
and the stream, runs the scheduler, and stops them in the reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from bot.app import App
from bot.chat.platforms import status_lines
from bot.domain.markets import primary_market
from bot.feeds.replay_feed import VirtualClock
from bot.ports import ChatSink, PlatformRuntime, ReplayClock
from bot.prometheus import sample_outbox_depth, serve_metrics
from bot.readiness import announce_ready
from bot.redaction import redact, secret_values
from jobs.deliver import describe_error
from jobs.scheduler import daily_at, wait_until
from jobs.unfinished import ExpiryBarrier, await_leases, report_unfinished

log = logging.getLogger(__name__)


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


def start_failure(platform: str, exc: BaseException, env: Mapping[str, str]) -> str:
    """The one warning line for a platform that did not start (redacted: no token in it)."""
    reason = redact(describe_error(exc), secret_values(env))
    return (
        f"platform {platform} did not start ({reason}); running without it, its items wait "
        "in the outbox"
    )


@dataclass
class Runner:
    """Runs the App's parts until SIGTERM/SIGINT (live) or the replay's end."""

    app: App
    shutdown_seconds: float = 10.0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    worker_failed: bool = False
    """The delivery worker ended on its own: the run stopped and exits 1."""
    ready_file: Path | None = None
    """Written once the store, feeds and platforms are up (`--ready-file`)."""
    start_file: Path | None = None
    """A replay's clock starts at the epoch written here, waited for once ready."""

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (live) or until the replay's digests are delivered."""
        app = self.app
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._request_stop, signum)
        # Every part is built before the clock starts (building takes real seconds, which
        # are hours of trading time at a high replay speed); the platforms first, so that a
        # settings error (Slack without SLACK_APP_TOKEN) stops the run before anything slow.
        runtimes, live, jobs, worker_of = app.runtimes, app.live, app.jobs, app.worker
        await self._catch_up()
        for symbol in live.symbols:  # read and join every history before the clock runs
            app.market.table(symbol)
        sinks, runtimes = await self._start_platforms(runtimes)
        await self._announce_ready(sinks)
        # The clock starts once the sinks are up: platform logins take real seconds too.
        clock = app.clock
        if isinstance(clock, ReplayClock):
            clock.start()
        scheduler = app.scheduler  # its first fire times are read from the started clock
        if app.replay is not None:  # never queue what a live worker would post later
            app.claimer.platforms = frozenset(sinks)
            timeout, lease = app.worker_timing
            scheduler.before_step = ExpiryBarrier(
                app.store, app.claimer.platforms, app.report.fired, timeout + lease, self.stop
            )
        delivery_stop = asyncio.Event()
        worker = asyncio.create_task(worker_of(sinks, delivery_stop))
        worker.add_done_callback(lambda task: self._worker_ended(task, delivery_stop))
        background: list[asyncio.Task[None]] = []
        metrics_runner = None
        port = app.settings.metrics.port
        if port:  # metrics off: no outbox sampling either (it lists the whole outbox)
            metrics_runner = await serve_metrics(app.metrics, port, lambda: not self.stop.is_set())
            background.append(
                asyncio.create_task(sample_outbox_depth(app.metrics, app.store, delivery_stop))
            )
        if app.stream is not None:
            background.append(asyncio.create_task(live.run_stream(self.stop)))
        until = None
        if app.replay is not None:
            close = primary_market().close_of(app.replay)
            until = await replay_end(app, app.replay, close, app.claimer.platforms)
        if isinstance(clock, ReplayClock) and time.time() - clock.real_start > 1:
            late = time.time() - clock.real_start
            log.warning(
                "run started %.1f s after its virtual clock (--start-at): %.0f virtual s skipped",
                late,
                late * clock.speed,
            )
        log.info(
            "run started mode=%s symbols=%d jobs=%d",
            "replay" if app.replay is not None else "live",
            len(live.symbols),
            len(jobs),
        )
        try:
            await scheduler.run(self.stop, until=until)
            if until is not None and not self.stop.is_set():
                await wait_until(clock, until, self.stop)
                await self._drain(sinks)
        finally:
            app.report.claimed = sum(1 for r in scheduler.history if r.outcome == "ran")
            why = "replay end" if app.replay is not None and not self.stop.is_set() else "stopped"
            delivery_stop.set()
            try:
                await asyncio.wait_for(worker, timeout=self.shutdown_seconds)
            except TimeoutError:
                log.warning(
                    "shutdown: in-flight deliveries did not finish in %.0f s", self.shutdown_seconds
                )
            except Exception:  # a worker that died was logged by _worker_ended
                pass
            await self._report_unfinished(why)
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

    async def _catch_up(self) -> None:
        """Live: fetch the closed sessions the history lacks. On failure the shipped history
        still serves: one warning line, and the run starts."""
        app = self.app
        if app.daily_bars is None:
            return
        try:
            await app.live.catch_up(app.daily_bars)
        except Exception as exc:
            log.warning("backfill failed (%s); running on the shipped history", describe_error(exc))

    async def _start_platforms(
        self, runtimes: Sequence[PlatformRuntime]
    ) -> tuple[dict[str, ChatSink], list[PlatformRuntime]]:
        """Start every runtime; one that fails is one redacted warning, closed, and left
        out (its items wait in the outbox). The sinks of the console and the started ones."""
        app = self.app
        started: list[PlatformRuntime] = []
        failed: set[str] = set()
        for runtime in runtimes:
            try:
                await runtime.start()
            except Exception as exc:  # DNS, login refused…: run on without that platform
                log.warning(start_failure(runtime.platform, exc, app.env))
                with contextlib.suppress(Exception):
                    await runtime.close()
                failed.add(runtime.platform)
                continue
            started.append(runtime)
        sinks = {name: sink for name, sink in app.sinks.items() if name not in failed}
        for line in status_lines(
            app.env,
            delivering=app.deliver,
            chosen=app.platforms,
            started={runtime.platform for runtime in started},
            failed=failed,
        ):
            log.info(line)
        return sinks, started

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

    async def _announce_ready(self, sinks: Mapping[str, ChatSink]) -> None:
        """Say the run is up (`bot.readiness`); a start file fixes when the clock starts."""
        mode = "replay" if self.app.replay is not None else "live"
        begin = await announce_ready(mode, sinks, self.ready_file, self.start_file, self.stop)
        if begin is not None and isinstance(self.app.clock, VirtualClock):
            self.app.clock.start(begin)

    async def _drain(self, sinks: Mapping[str, ChatSink]) -> None:
        """Until the messages the replay caused are delivered: its own, and those a dead
        worker still leases (bounded by the lease length; `jobs.unfinished`)."""
        timeout, lease = self.app.worker_timing
        await await_leases(
            self.app.store, sinks, lease_seconds=lease, timeout=timeout, stop=self.stop
        )

    async def _report_unfinished(self, why: str) -> None:
        """One line on what this run leaves pending for its platforms, and when it is retried."""
        _, lease = self.app.worker_timing
        await report_unfinished(self.app.store, self.app.claimer.platforms, lease, why)

    def _print_report(self) -> None:
        app, report = self.app, self.app.report
        out = app.out
        label = f"replay of {app.replay.date()}" if app.replay is not None else "live run"
        print(
            f"== {label}: {len(report.fired)} rule firing(s), "
            f"{report.claimed} scheduled run(s) claimed here",
            file=out,
        )
        for line in report.fired:
            print(f"fired: {line}", file=out)
        platforms = ", ".join(f"{p}={n}" for p, n in sorted(report.delivered.items())) or "none"
        print(f"delivered: {platforms}", file=out, flush=True)
