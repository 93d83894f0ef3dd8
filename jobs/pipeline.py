"""The run's two ends, counted: each feed tick evaluated and claimed, each delivery counted.

`AlertClaimer` is what the live feed calls with every tick (evaluate → claim → outbox);
`CountingSink` wraps a platform's sink. Both write into the run's `RunReport` (what a run
prints when it ends) and its Prometheus `Metrics`. A replay claims, and its digests queue,
only for the platforms it has a sink for: the runner sets `platforms` once they started.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from bot.domain.cards import Card
from bot.domain.model import Channel
from bot.domain.snapshot import Quote
from bot.ports import ChatSink, Delivered, DeliveryOutcome, Failed, FeedTick, Gone, RetryAfter
from bot.ports.metrics import PipelineMetrics
from bot.services import Services
from jobs.evaluate import evaluate_and_claim
from jobs.rule_book import PrintTick, RuleBook

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What a run did: rules fired, deliveries per platform, scheduled runs claimed."""

    fired: list[str] = field(default_factory=list)
    delivered: Counter[str] = field(default_factory=Counter)
    claimed: int = 0
    ticks: int = 0
    queued_at: dict[str, float] = field(default_factory=dict)
    """Real time each outbox item was queued at, by idempotency key (for the latency)."""


def outcome_label(outcome: DeliveryOutcome) -> str:
    """The metrics label of a delivery outcome."""
    match outcome:
        case Delivered():
            return "delivered"
        case RetryAfter():
            return "retryafter"
        case Gone():
            return "gone"
        case Failed():
            return "failed"


@dataclass
class CountingSink:
    """Wraps a sink: counts its outcomes per platform and logs each accepted delivery."""

    inner: ChatSink
    report: RunReport
    metrics: PipelineMetrics
    platform: str = ""

    def __post_init__(self) -> None:
        self.platform = self.platform or self.inner.platform

    async def pace(self, channel: Channel) -> None:
        """The inner sink's pacing."""
        await self.inner.pace(channel)

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """Send through the inner sink and count the outcome."""
        outcome = await self.inner.send(channel, card, idempotency_key)
        queued_seconds: float | None = None
        if isinstance(outcome, Delivered):
            self.report.delivered[self.platform] += 1
            queued = self.report.queued_at.pop(idempotency_key, None)
            if queued is not None:
                queued_seconds = max(0.0, time.time() - queued)
        self.metrics.delivered(self.platform, outcome_label(outcome), queued_seconds)
        if isinstance(outcome, Delivered):
            log.info(
                "delivered platform=%s channel=%s key=%s",
                self.platform,
                channel.ref.key,
                idempotency_key,
            )
        elif isinstance(outcome, RetryAfter):
            self.metrics.rate_limited(self.platform)
        return outcome


@dataclass
class AlertClaimer:
    """The live feed's tick handler: evaluate the rules that read what changed and claim
    the firings for the subscribed channels (on `platforms` only, when set)."""

    services: Services
    book: RuleBook
    report: RunReport
    metrics: PipelineMetrics
    live: bool = True
    """A live run measures print → persisted latency (a replay's prints are history)."""
    platforms: frozenset[str] | None = None

    async def __call__(self, tick: FeedTick) -> None:
        """Evaluate and claim one tick; count it."""
        self.report.ticks += 1
        self.metrics.printed(tick.source, len(tick.changed))
        times = [q.as_of for q in map(tick.snapshot.quote, tick.changed) if isinstance(q, Quote)]
        print_tick = PrintTick.from_feed(tick)
        outcome = await evaluate_and_claim(
            self.services, print_tick, book=self.book, platforms=self.platforms, news=self.live
        )
        if self.live and outcome.items and times:
            latency = max(0.0, time.time() - max(times).timestamp())
            self.metrics.persisted(latency)
        for item in outcome.items:
            self.report.queued_at[item.idempotency_key] = item.created_at or time.time()
        for event in outcome.fired:
            self.metrics.fired(event.rule_id)
            line = f"{event.rule_id}[{event.severity}] at {tick.kind} {print_tick.at:%H:%M}Z"
            self.report.fired.append(line)
