"""What a run leaves undelivered when it stops: waited for at a replay's end, and always said.

A replay runs "until the messages it causes have been delivered": at its end, items another
worker still holds (one that died mid-send keeps its lease until the lease runs out) are
waited for — at most the lease length plus one send — while this run's delivery worker takes
each over as its lease runs out and delivers it. Any run that stops (replay end, SIGTERM)
with items still pending logs how many, for which channels, and when they will be retried:
nothing ends silently with work in a dead worker's hands. Times are real time (the store's
`time_source`), like leases. During a replay, `ExpiryBarrier` keeps the stepped clock from
passing an alert's expiry before the worker has delivered it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain.model import OutboxItem
from bot.ports.store import Outbox
from jobs.deliver import TimeSource, describe_error
from jobs.enqueue import pause

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unfinished:
    """The pending items of some platforms at one moment (real time `now`)."""

    items: tuple[OutboxItem, ...]
    now: float
    lease_seconds: float

    def retry_at(self, item: OutboxItem) -> float:
        """When a worker may take the item (again): its lease's end, or its due time."""
        if item.leased_at is not None:
            return max(item.due_at, item.leased_at + self.lease_seconds)
        return item.due_at

    def leased(self) -> list[OutboxItem]:
        """Items a worker holds right now."""
        return [i for i in self.items if i.leased_at is not None and self.retry_at(i) > self.now]

    def describe(self) -> str:
        """How many, which channels, and when they are retried, in one line."""
        channels = Counter(item.channel.key for item in self.items)
        names = ", ".join(f"{key} ×{n}" if n > 1 else key for key, n in sorted(channels.items()))
        leased = self.leased()
        due = [i for i in self.items if i not in leased and self.retry_at(i) <= self.now]
        later = [i for i in self.items if i not in leased and i not in due]
        parts = []
        if leased:
            last = max(self.retry_at(i) for i in leased)
            parts.append(
                f"{len(leased)} leased by a worker until {_when(last, self.now)} at the latest"
            )
        if due:
            parts.append(f"{len(due)} due now")
        if later:
            first = min(self.retry_at(i) for i in later)
            parts.append(f"{len(later)} due again from {_when(first, self.now)}")
        return f"{len(self.items)} item(s) undelivered for {names}: {'; '.join(parts)}"


def _when(epoch: float, now: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{moment} (in {max(0.0, epoch - now):.0f} s)"


async def unfinished(
    store: Outbox,
    platforms: Collection[str] | None,
    lease_seconds: float,
    time_source: TimeSource = time.time,
) -> Unfinished:
    """The pending items of `platforms` (all when None)."""
    items = tuple(
        item
        for item in await store.list_outbox()
        if item.state == "pending" and (platforms is None or item.channel.platform in platforms)
    )
    return Unfinished(items, time_source(), lease_seconds)


async def await_leases(
    store: Outbox,
    platforms: Collection[str],
    *,
    lease_seconds: float,
    timeout: float,
    stop: asyncio.Event,
    time_source: TimeSource = time.time,
    poll_seconds: float = 0.2,
) -> Unfinished:
    """A replay's end: wait while items of `platforms` are pending that a worker will retry
    within `lease_seconds + timeout` (the lease length and one send) — held by another worker
    or in this run's hands — so this run's worker delivers them; what is left after that, or
    once `stop` is set, is returned (it is due later, e.g. after a failed attempt)."""
    bound = time_source() + lease_seconds + timeout
    said = False
    while True:
        left = await unfinished(store, platforms, lease_seconds, time_source)
        soon = [item for item in left.items if left.retry_at(item) <= bound]
        if not soon or stop.is_set() or left.now >= bound:
            return left
        others = [item for item in left.leased() if item in soon]
        if others and not said:
            said = True
            log.warning(
                "replay end: %d item(s) still leased (%s); waiting up to %.0f s (the lease "
                "length %.0f s and one send) for the leases to run out, then delivering them",
                len(others),
                ", ".join(sorted({item.channel.key for item in others})),
                bound - left.now,
                lease_seconds,
            )
        await pause(asyncio.sleep, poll_seconds, stop)


async def report_unfinished(
    store: Outbox,
    platforms: Collection[str] | None,
    lease_seconds: float,
    why: str,
    time_source: TimeSource = time.time,
) -> Unfinished | None:
    """Log what a stopping run leaves in the outbox (one line; nothing when it is empty)."""
    try:
        left = await unfinished(store, platforms, lease_seconds, time_source)
    except Exception as exc:  # an outage (or any store error) while stopping: one line
        log.warning(
            "run stopping (%s): the outbox could not be read (%s)", why, describe_error(exc)
        )
        return None
    if left.items:
        log.warning(
            "run stopping (%s) with %s; they stay in the outbox and are delivered then",
            why,
            left.describe(),
        )
    return left


@dataclass
class ExpiryBarrier:
    """A replay's clock waits for its own alerts: before it steps to a moment, the items of
    `platforms` that expire by then are delivered (or parked) first. At a high speed a
    chart's render takes hours of virtual time, and an overseas warning expires at New York's
    open: without the barrier, the 01:30 Tokyo warning would expire unsent. The store is read
    only when an alert fired since the last look or a pending expiry is reached."""

    store: Outbox
    platforms: Collection[str]
    fired: Collection[object]
    """The run's firings so far (`RunReport.fired`): a new one may have queued an item."""
    timeout: float
    """Real seconds to wait at most at one moment (a platform that keeps failing)."""
    stop: asyncio.Event
    poll_seconds: float = 0.05
    _seen: int = field(default=0, init=False)
    _next_expiry: datetime | None = field(default=None, init=False)

    async def __call__(self, moment: datetime) -> None:
        """Wait until no pending item of `platforms` expires at or before `moment`."""
        if len(self.fired) == self._seen and (
            self._next_expiry is None or moment < self._next_expiry
        ):
            return
        self._seen = len(self.fired)
        deadline = time.monotonic() + self.timeout
        while True:
            left = await unfinished(self.store, self.platforms, 0.0)
            expiries = [item.expires_at for item in left.items if item.expires_at is not None]
            due = [at for at in expiries if at <= moment]
            if not due or self.stop.is_set() or time.monotonic() >= deadline:
                self._next_expiry = min((at for at in expiries if at > moment), default=None)
                if due and not self.stop.is_set():
                    log.warning(
                        "replay: %d item(s) not delivered in %.0f s; the clock moves on and "
                        "they expire",
                        len(due),
                        self.timeout,
                    )
                return
            await pause(asyncio.sleep, self.poll_seconds, self.stop)
