"""Fired alert → outbox, surviving a store outage: retried with back-off, never dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from bot.stores.port import AlertEvent, OutboxItem, Store, StoreUnavailable, Subscription

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


async def claim_with_retry(
    store: Store,
    alerts: Sequence[tuple[Subscription, AlertEvent]],
    now: datetime,
    *,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> list[OutboxItem]:
    """`store.claim_and_enqueue`, retried with exponential back-off until the store answers.

    Trigger state is committed only together with its outbox entries, so a retry after a
    half-seen failure cannot send twice: an already-claimed alert is simply not claimed again.
    """
    delay = base_delay
    attempt = 0
    while True:
        try:
            items = await store.claim_and_enqueue(alerts, now)
        except StoreUnavailable as exc:
            attempt += 1
            log.warning(
                "store outage: %s; holding %d alert deliveries, retry %d in %.1fs",
                exc,
                len(alerts),
                attempt,
                delay,
            )
            await sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if attempt:
            log.warning("store reachable again after %d retries; alerts enqueued", attempt)
        return items


async def enqueue_alert(
    store: Store,
    event: AlertEvent,
    now: datetime,
    *,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> list[OutboxItem]:
    """Find the rule's recipients and claim the alert for each, riding out store outages."""
    delay = base_delay
    attempt = 0
    while True:
        try:
            recipients = await store.recipients(event.rule_id, now=now)
            break
        except StoreUnavailable as exc:
            attempt += 1
            log.warning(
                "store outage: %s; alert %s held, retry %d in %.1fs",
                exc,
                event.alert_id,
                attempt,
                delay,
            )
            await sleep(delay)
            delay = min(delay * 2, max_delay)
    alerts = [(subscription, event) for subscription in recipients]
    return await claim_with_retry(
        store, alerts, now, base_delay=base_delay, max_delay=max_delay, sleep=sleep
    )
