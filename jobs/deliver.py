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
    skipped: int = 0
    """Leased items not sent because another worker had taken them over meanwhile."""


def describe_error(exc: BaseException) -> str:
    """A short, single-line error for logs and the outbox (no traceback)."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _deliver_one(
    store: Store,
    sinks: Mapping[str, ChatSink],
    item: OutboxItem,
    worker_id: str,
    *,
    timeout: float,
    max_attempts: int,
) -> str:
    # The send starts on a fresh lease and ends (timeout < lease) before it can run out, so
    # no other worker sends the item meanwhile.
    try:
        renewed = await store.renew(item, worker_id)
    except StoreUnavailable as exc:
        log.warning("could not renew the lease of %s (%s); not sending it now", item.id, exc)
        return "skipped"
    if not renewed:
        log.warning("lease of %s ran out and another worker took it over; not sending", item.id)
        return "skipped"
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
    """One round: lease up to `min(limit, concurrency)` items and send them all at once.

    No item waits for a free slot while its lease runs: each lease is renewed right before
    its send, and a send (bounded by `timeout`, which must be shorter than `lease_seconds`)
    ends before the renewed lease can run out. A failing sink is isolated.
    """
    check_timing(timeout, lease_seconds)
    batch = max(1, min(limit, concurrency))
    items = await store.lease(
        worker_id, limit=batch, lease_seconds=lease_seconds, max_attempts=max_attempts
    )
    outcomes = await asyncio.gather(
        *(
            _deliver_one(store, sinks, item, worker_id, timeout=timeout, max_attempts=max_attempts)
            for item in items
        )
    )
    return DeliveryReport(
        leased=len(items),
        delivered=outcomes.count("delivered"),
        failed=outcomes.count("failed"),
        parked=outcomes.count("parked"),
        skipped=outcomes.count("skipped"),
    )


def check_timing(timeout: float, lease_seconds: float) -> None:
    """A send must end before its lease can run out, or another worker could send it too."""
    if not 0 < timeout < lease_seconds:
        raise ValueError(
            f"delivery timeout ({timeout:g}s) must be positive and shorter than the lease"
            f" ({lease_seconds:g}s)"
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
    timeout: float = 30.0,
    concurrency: int = 16,
) -> None:
    """Deliver until `stop` is set; a store outage is logged and waited out with back-off."""
    check_timing(timeout, lease_seconds)
    backoff = idle_seconds
    while not stop.is_set():
        try:
            report = await deliver_outbox(
                store,
                sinks,
                worker_id,
                lease_seconds=lease_seconds,
                max_attempts=max_attempts,
                timeout=timeout,
                concurrency=concurrency,
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
