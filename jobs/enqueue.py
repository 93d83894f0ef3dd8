"""Fired alert → outbox, surviving a store outage: retried with back-off, never dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bot.domain.model import AlertEvent, OutboxItem, Subscription
from bot.ports.store import AlertStore, Outbox, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


async def pause(sleep: Sleep, seconds: float, stop: asyncio.Event | None = None) -> None:
    """`await sleep(seconds)`, cut short once `stop` (if given) is set."""
    if stop is None:
        await sleep(seconds)
        return
    waiter, stopper = asyncio.ensure_future(sleep(seconds)), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        stopper.cancel()


async def retry_store(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
    stop: asyncio.Event | None = None,
) -> T:
    """Await `call()` until the store answers, backing off exponentially; log the outage.

    With `stop`: once it is set, the outage is no longer waited out (StoreUnavailable)."""
    delay, attempt = base_delay, 0
    while True:
        try:
            result = await call()
        except StoreUnavailable as exc:
            if stop is not None and stop.is_set():
                raise
            attempt += 1
            log.warning("store outage: %s; %s held, retry %d in %.1fs", exc, what, attempt, delay)
            await pause(sleep, delay, stop)
            delay = min(delay * 2, max_delay)
            continue
        if attempt:
            log.warning("store reachable again after %d retries; %s done", attempt, what)
        return result


async def claim_with_retry(
    store: Outbox,
    alerts: Sequence[tuple[Subscription, AlertEvent]],
    now: datetime,
    *,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> list[OutboxItem]:
    """`store.claim_and_enqueue`, retried until the store answers.

    Trigger state is committed only together with its outbox entries, so a retry after a
    half-seen failure cannot send twice: an already-claimed alert is simply not claimed again.
    """
    return await retry_store(
        lambda: store.claim_and_enqueue(alerts, now),
        f"{len(alerts)} alert deliveries",
        base_delay=base_delay,
        max_delay=max_delay,
        sleep=sleep,
    )


async def enqueue_alert(
    store: AlertStore,
    event: AlertEvent,
    now: datetime,
    *,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> list[OutboxItem]:
    """Find the rule's recipients and claim the alert for each, riding out store outages."""
    recipients = await retry_store(
        lambda: store.recipients(event.rule_id, now=now),
        f"alert {event.alert_id}",
        base_delay=base_delay,
        max_delay=max_delay,
        sleep=sleep,
    )
    alerts = [(subscription, event) for subscription in recipients]
    return await claim_with_retry(
        store, alerts, now, base_delay=base_delay, max_delay=max_delay, sleep=sleep
    )
