"""Outbox → chat sinks: lease, build the Card for the channel, pace, send, settle the outcome.

Trading time (expiry) comes from the injected `Clock`; leases, send timeouts and back-off are
real time (`time_source`, `sleep`), so an accelerated replay clock never expires a lease
mid-send. A store outage at any step of a delivery (lease, channel, card, renewal, marking
the outcome) is waited out with back-off, the item's lease kept and no attempt counted: an
outage is never held against a message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bot.domain.cards import Card
from bot.domain.model import UNKNOWN_OUTCOME_RETRY_SECONDS, Channel, OutboxItem, retry_delay
from bot.ports import ChatSink, Clock, Delivered, DeliveryOutcome, Failed, Gone, RetryAfter
from bot.ports.store import AlertStore, StoreError, StoreUnavailable
from jobs.enqueue import Sleep, pause, retry_store

log = logging.getLogger(__name__)

BuildCard = Callable[[OutboxItem, Channel], Awaitable[Card | None]]
"""Builds the Card of one item for one channel (its language and zone); None: nothing to send."""
TimeSource = Callable[[], float]
T = TypeVar("T")

EXPIRED = "expired: undelivered at the next session's open"
OUTCOMES = ("delivered", "retried", "failed", "parked", "gone", "expired", "skipped", "held")


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did."""

    leased: int = 0
    delivered: int = 0
    retried: int = 0
    """Due again later because the platform asked us to wait (no attempt counted)."""
    failed: int = 0
    parked: int = 0
    gone: int = 0
    """Sent to a channel the platform says is gone: the channel was deactivated."""
    expired: int = 0
    skipped: int = 0
    """Leased items not sent because another worker had taken them over meanwhile."""
    held: int = 0
    """Alerts not sent because their channel is snoozed: kept for its summary, or dropped."""


def describe_error(exc: BaseException) -> str:
    """A short, single-line error for logs and the outbox (no traceback)."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class _Round:
    store: AlertStore
    build_card: BuildCard
    worker_id: str
    clock: Clock
    timeout: float
    max_attempts: int
    time_source: TimeSource
    sleep: Sleep = asyncio.sleep
    stop: asyncio.Event | None = None


async def _ride(job: _Round, item: OutboxItem, step: str, call: Callable[[], Awaitable[T]]) -> T:
    """One store step of a delivery, a store outage waited out (lease kept, no attempt
    counted) until the worker is told to stop."""
    return await retry_store(
        call,
        f"delivery of {item.id} ({step}; lease kept, no attempt counted)",
        sleep=job.sleep,
        stop=job.stop,
    )


async def _park(job: _Round, item: OutboxItem, reason: str, outcome: str = "parked") -> str:
    log.warning("parked %s for %s: %s", item.id, item.channel.key, reason)
    await _ride(job, item, "parking", lambda: job.store.park(item, reason))
    return outcome


async def _hold(job: _Round, item: OutboxItem, channel: Channel) -> str:
    """A snoozed channel's alert: kept for the snooze's summary (or dropped, as the channel
    chose) and settled without sending."""
    if not await job.store.renew(item, job.worker_id):
        return "skipped"
    dropped = channel.snooze is not None and channel.snooze.drop
    if not dropped:
        await job.store.hold_alerts(channel.ref, item.alert_ids or (item.alert_id,))
    await job.store.mark_delivered(item)
    log.info("%s %s for snoozed %s", "dropped" if dropped else "held", item.id, channel.ref.key)
    return "held"


async def _send(
    sink: ChatSink, channel: Channel, card: Card, item: OutboxItem, timeout: float
) -> DeliveryOutcome:
    try:
        return await asyncio.wait_for(sink.send(channel, card, item.idempotency_key), timeout)
    except TimeoutError:
        return Failed(f"no answer within {timeout:g}s", unknown_outcome=True)
    except Exception as exc:  # a sink bug or a library error: one line, never a traceback
        return Failed(describe_error(exc))


async def _settle(job: _Round, item: OutboxItem, channel: Channel, outcome: DeliveryOutcome) -> str:
    store = job.store
    if isinstance(outcome, Delivered):
        await _ride(job, item, "marking it delivered", lambda: store.mark_delivered(item))
        return "delivered"
    if isinstance(outcome, RetryAfter):
        due = job.time_source() + max(0.0, outcome.seconds)
        reason = f"retry after {outcome.seconds:g}s: {outcome.reason}"
        await _ride(job, item, "rescheduling", lambda: store.reschedule(item, due, reason))
        return "retried"
    if isinstance(outcome, Gone):
        log.warning("channel %s is gone (%s): deactivated", channel.ref.key, outcome.reason)
        try:
            await _ride(
                job, item, "deactivating", lambda: store.deactivate(channel.ref, outcome.reason)
            )
        except StoreUnavailable:
            raise
        except StoreError:  # purged meanwhile: nothing left to deactivate
            pass
        await _ride(job, item, "parking", lambda: store.park_channel(channel.ref, outcome.reason))
        return "gone"
    unknown = outcome.unknown_outcome
    retry_in = UNKNOWN_OUTCOME_RETRY_SECONDS if unknown else retry_delay(item.attempts + 1)
    log.warning(
        "delivery of %s to %s failed%s: %s",
        item.id,
        item.channel.key,
        " (outcome unknown)" if unknown else "",
        outcome.error,
    )
    failed = await _ride(
        job,
        item,
        "counting the failure",
        lambda: store.mark_failed(item, outcome.error, job.max_attempts, retry_in=retry_in),
    )
    if failed.state == "parked":
        log.error(
            "parked %s for %s after %d attempts: %s",
            item.id,
            item.channel.key,
            failed.attempts,
            outcome.error,
        )
        return "parked"
    return "failed"


async def _deliver_one(job: _Round, sink: ChatSink, item: OutboxItem) -> str:
    store = job.store
    try:
        channel = await _ride(
            job, item, "reading its channel", lambda: store.get_channel(item.channel)
        )
        if channel is None:
            return await _park(job, item, "channel unknown (purged)")
        if not channel.active:
            return await _park(job, item, f"channel inactive: {channel.inactive_reason or '?'}")
        if item.expires_at is not None and job.clock.now() >= item.expires_at:
            return await _park(job, item, EXPIRED, "expired")
        if item.kind == "alert" and channel.snooze and channel.snooze.active(job.clock.now()):
            return await _hold(job, item, channel)
        try:
            card = await _build(job, item, channel)
        except StoreUnavailable:
            raise
        except Exception as exc:  # the card itself cannot be built: a failed attempt
            error = f"could not build the card: {describe_error(exc)}"
            log.error("delivery of %s: %s", item.id, error)
            return await _settle(job, item, channel, Failed(error))
        if card is None:
            return await _park(job, item, "nothing to send (its alerts are no longer stored)")
        await sink.pace(channel)  # before the renewal: waiting for a budget eats no lease
        renewed = await _ride(
            job, item, "renewing its lease", lambda: store.renew(item, job.worker_id)
        )
        if not renewed:
            log.warning("lease of %s ran out and another worker took it over; not sending", item.id)
            return "skipped"
        outcome = await _send(sink, channel, card, item, job.timeout)
        return await _settle(job, item, channel, outcome)
    except StoreUnavailable as exc:
        # Only when the worker stops during an outage: nothing lost, the lease runs out and
        # the item is delivered later (same key), still with no attempt counted.
        log.warning(
            "store outage while delivering %s as the worker stops (%s); its lease will run out",
            item.id,
            exc,
        )
        return "skipped"
    except Exception:  # a bug of ours: logged with its traceback, the other items go on
        log.exception("delivery of %s to %s failed unexpectedly", item.id, item.channel.key)
        return "skipped"


async def _build(job: _Round, item: OutboxItem, channel: Channel) -> Card | None:
    """The item's Card; the store reads and chart writes it makes ride out an outage."""
    return await _ride(job, item, "building its card", lambda: job.build_card(item, channel))


def check_timing(timeout: float, lease_seconds: float) -> None:
    """A send must end before its lease can run out, or another worker could send it too."""
    if not 0 < timeout < lease_seconds:
        raise ValueError(
            f"delivery timeout ({timeout:g}s) must be positive and shorter than the lease"
            f" ({lease_seconds:g}s)"
        )


async def deliver_outbox(
    store: AlertStore,
    sinks: Mapping[str, ChatSink],
    build_card: BuildCard,
    worker_id: str,
    *,
    clock: Clock,
    limit: int = 100,
    lease_seconds: float = 60.0,
    max_attempts: int = 5,
    timeout: float = 30.0,
    concurrency: int = 16,
    time_source: TimeSource = time.time,
    sleep: Sleep = asyncio.sleep,
    stop: asyncio.Event | None = None,
) -> DeliveryReport:
    """One round: lease up to `min(limit, concurrency)` due items of the sinks' platforms and
    deliver them all at once.

    Items for platforms without a sink here are not leased (they wait, untouched). Each lease
    is renewed right after the platform's pacer allowed the send, and only the send is bounded
    by `timeout` (shorter than `lease_seconds`), so no item is sent on a lapsed lease. A store
    outage after the lease is waited out (`sleep` between tries) until `stop` is set.
    """
    check_timing(timeout, lease_seconds)
    if not sinks:
        return DeliveryReport()
    batch = max(1, min(limit, concurrency))
    items = await store.lease(
        worker_id,
        limit=batch,
        lease_seconds=lease_seconds,
        max_attempts=max_attempts,
        platforms=sorted(sinks),
    )
    job = _Round(
        store, build_card, worker_id, clock, timeout, max_attempts, time_source, sleep, stop
    )
    outcomes = await asyncio.gather(
        *(_deliver_one(job, sinks[item.channel.platform], item) for item in items)
    )
    counts = {name: outcomes.count(name) for name in OUTCOMES}
    return DeliveryReport(leased=len(items), **counts)


async def _platform_loop(
    deliver_round: Callable[[], Awaitable[DeliveryReport]],
    worker_id: str,
    stop: asyncio.Event,
    idle_seconds: float,
    sleep: Sleep = asyncio.sleep,
) -> None:
    backoff = idle_seconds
    while not stop.is_set():
        try:
            report = await deliver_round()
            backoff = idle_seconds
            if report.leased:
                continue
            await pause(asyncio.sleep, idle_seconds, stop)  # idle: real time
            continue
        except StoreUnavailable as exc:
            log.warning(
                "store outage in delivery worker %s: %s; retry in %.1fs", worker_id, exc, backoff
            )
            backoff = min(max(backoff, 0.05) * 2, 30.0)
        except Exception as exc:  # e.g. a redis ResponseError: this platform's loop goes on
            log.error(
                "delivery worker %s round failed: %s; retry in %.1fs",
                worker_id,
                describe_error(exc),
                backoff,
            )
            backoff = min(max(backoff, 0.05) * 2, 30.0)
        await pause(sleep, backoff, stop)


async def run_delivery_worker(
    store: AlertStore,
    sinks: Mapping[str, ChatSink],
    build_card: BuildCard,
    worker_id: str,
    stop: asyncio.Event,
    *,
    clock: Clock,
    idle_seconds: float = 1.0,
    limit: int = 100,
    lease_seconds: float = 60.0,
    max_attempts: int = 5,
    timeout: float = 30.0,
    concurrency: int = 16,
    time_source: TimeSource = time.time,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Deliver until `stop` is set: one lease loop per platform, so a slow or failing platform
    never holds back another's deliveries; a store outage or any other error of a round
    (logged in one line) is waited out with back-off (`sleep`, real time)."""
    check_timing(timeout, lease_seconds)
    loops = [
        _platform_loop(
            functools.partial(
                deliver_outbox,
                store,
                {platform: sink},
                build_card,
                f"{worker_id}/{platform}",
                clock=clock,
                limit=limit,
                lease_seconds=lease_seconds,
                max_attempts=max_attempts,
                timeout=timeout,
                concurrency=concurrency,
                time_source=time_source,
                sleep=sleep,
                stop=stop,
            ),
            f"{worker_id}/{platform}",
            stop,
            idle_seconds,
            sleep,
        )
        for platform, sink in sorted(sinks.items())
    ]
    await asyncio.gather(*loops)


async def drain_outbox(
    store: AlertStore,
    sinks: Mapping[str, ChatSink],
    build_card: BuildCard,
    worker_id: str,
    *,
    clock: Clock,
) -> None:
    """Deliver rounds until a round leases nothing (a replay or a test, not a live worker)."""
    while (await deliver_outbox(store, sinks, build_card, worker_id, clock=clock)).leased:
        pass
