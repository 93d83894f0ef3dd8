"""Prometheus metrics and `/healthz`, served on `[metrics] port` (off when 0).

One `Metrics` object per process, on its own registry (no globals): polls, prints, rules
fired, deliveries by platform and outcome, 429s, outbox depth, and the latency histograms
print → persisted and persisted → delivered (real seconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The bot's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("sputnik_polls", "Feed polls made", ["feed", "reason"], registry=r)
        self.prints = Counter("sputnik_prints", "Prints received", ["source"], registry=r)
        self.rules_fired = Counter("sputnik_rules_fired", "Rules fired", ["rule"], registry=r)
        self.deliveries = Counter(
            "sputnik_deliveries", "Deliveries", ["platform", "outcome"], registry=r
        )
        self.rate_limits = Counter("sputnik_rate_limits", "429s seen", ["service"], registry=r)
        self.outbox_depth = Gauge("sputnik_outbox_depth", "Pending outbox items", registry=r)
        self.print_to_persisted = Histogram(
            "sputnik_print_to_persisted_seconds",
            "Print timestamp to outbox commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.persisted_to_delivered = Histogram(
            "sputnik_persisted_to_delivered_seconds",
            "Outbox commit to platform acceptance",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def printed(self, source: str, count: int) -> None:
        """`count` symbols changed in one print from `source`."""
        self.prints.labels(source).inc(count)

    def fired(self, rule_id: str) -> None:
        """A rule fired."""
        self.rules_fired.labels(rule_id).inc()

    def persisted(self, seconds: float) -> None:
        """Print timestamp → outbox commit."""
        self.print_to_persisted.observe(seconds)

    def delivered(self, platform: str, outcome: str, queued_seconds: float | None) -> None:
        """A sink's answer, and commit → delivery when it delivered."""
        self.deliveries.labels(platform, outcome).inc()
        if queued_seconds is not None:
            self.persisted_to_delivered.observe(queued_seconds)

    def rate_limited(self, service: str) -> None:
        """A 429 from `service`."""
        self.rate_limits.labels(service).inc()

    def exposition(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


async def serve_metrics(
    metrics: Metrics, port: int, healthy: Callable[[], bool], host: str = "0.0.0.0"
) -> web.AppRunner:
    """Serve `/metrics` and `/healthz` on `port`; returns the runner (cleanup to stop)."""

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def health_view(_: web.Request) -> web.Response:
        ok = healthy()
        return web.Response(text="ok\n" if ok else "unhealthy\n", status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", health_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics serving port=%d paths=/metrics,/healthz", port)
    return runner


async def sample_outbox_depth(metrics: Metrics, store: object, stop: asyncio.Event) -> None:
    """Refresh the outbox depth gauge every 15 s until `stop`."""
    while not stop.is_set():
        try:
            items = await store.list_outbox()  # type: ignore[attr-defined]
            metrics.outbox_depth.set(sum(1 for i in items if i.state == "pending"))
        except Exception as exc:  # the store may be down; the gauge just goes stale
            log.debug("outbox depth not sampled: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=15)
        except TimeoutError:
            continue
