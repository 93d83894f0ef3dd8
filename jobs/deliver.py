"""Outbox → chat sinks: lease, deliver with the idempotency key, mark done or failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.ports import ChatSink
from bot.stores.port import OutboxItem, Store, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did."""

    leased: int = 0
    delivered: int = 0
    failed: int = 0
    parked: int = 0


def describe_error(exc: BaseException) -> str:
    """A short, single-line error for logs and the outbox (no traceback)."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _deliver_one(
    store: Store,
    sinks: Mapping[str, ChatSink],
    item: OutboxItem,
    *,
    timeout: float,
    max_attempts: int,
) -> str:
    sink = sinks.get(item.channel.platform)
    try:
        if sink is None:
            raise LookupError(f"no sink for platform {item.channel.platform!r}")
        await asyncio.wait_for(
            sink.deliver(item.channel.channel_id, item.payload, item.idempotency_key), timeout
        )
    except Exception as exc:
        error = describe_error(exc)
        log.warning("delivery of %s to %s failed: %s", item.id, item.channel.key, error)
        try:
            failed = await store.mark_failed(item, error, max_attempts)
        except StoreUnavailable as store_exc:
            log.warning("could not record the failure (%s); the lease will expire", store_exc)
            return "failed"
        if failed.state == "parked":
            log.error(
                "parked %s for %s after %d attempts: %s",
                item.id,
                item.channel.key,
                failed.attempts,
                error,
            )
            return "parked"
        return "failed"
    try:
        await store.mark_delivered(item)
    except StoreUnavailable as exc:
        # Redelivered after the lease; the platform drops it by its idempotency key.
        log.warning("delivered %s but could not mark it (%s)", item.id, exc)
    return "delivered"


async def deliver_outbox(
    store: Store,
    sinks: Mapping[str, ChatSink],
    worker_id: str,
    *,
    limit: int = 100,
    lease_seconds: float = 60.0,
    max_attempts: int = 5,
    timeout: float = 30.0,
    concurrency: int = 16,
) -> DeliveryReport:
    """One round: lease up to `limit` items and deliver them; a failing sink is isolated."""
    items = await store.lease(worker_id, limit=limit, lease_seconds=lease_seconds)
    gate = asyncio.Semaphore(concurrency)

    async def run(item: OutboxItem) -> str:
        async with gate:
            return await _deliver_one(
                store, sinks, item, timeout=timeout, max_attempts=max_attempts
            )

    outcomes = await asyncio.gather(*(run(item) for item in items))
    return DeliveryReport(
        leased=len(items),
        delivered=outcomes.count("delivered"),
        failed=outcomes.count("failed"),
        parked=outcomes.count("parked"),
    )


async def run_delivery_worker(
    store: Store,
    sinks: Mapping[str, ChatSink],
    worker_id: str,
    stop: asyncio.Event,
    *,
    idle_seconds: float = 1.0,
    lease_seconds: float = 60.0,
    max_attempts: int = 5,
) -> None:
    """Deliver until `stop` is set; a store outage is logged and waited out with back-off."""
    backoff = idle_seconds
    while not stop.is_set():
        try:
            report = await deliver_outbox(
                store, sinks, worker_id, lease_seconds=lease_seconds, max_attempts=max_attempts
            )
            backoff = idle_seconds
            if report.leased:
                continue
        except StoreUnavailable as exc:
            log.warning(
                "store outage in delivery worker %s: %s; retry in %.1fs", worker_id, exc, backoff
            )
            backoff = min(backoff * 2, 30.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
