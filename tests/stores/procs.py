"""Separate bot processes for the race and crash tests (`python -m tests.stores.procs ...`)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bot.stores import open_store
from bot.stores.port import AlertEvent, ChannelRef, Subscription
from jobs.deliver import deliver_outbox
from tests.stores.fake_platform import FixedClock, HttpSink, title_card

RACE_CHANNEL = ChannelRef("discord", "guild", "race")


def race_events(count: int, racer: int) -> list[AlertEvent]:
    """`count` firings (one per rule) as racer `racer` sees them.

    Like real processes, each racer fires at its own time, so the racers' alert ids and
    idempotency keys differ: only the atomic claim (trigger state), not a UNIQUE key, can
    stop both from winning.
    """
    fired = datetime(2025, 1, 27, 15, 0, tzinfo=UTC) + timedelta(milliseconds=racer)
    return [
        AlertEvent(f"rule{n}", date(2025, 1, 27), 1, "shock", fired, {"n": n}) for n in range(count)
    ]


async def claim(url: str, count: int, start_at: float, racer: int) -> None:
    """Claim every race event for the race channel, starting at `start_at`; print wins."""
    store = await open_store(url)
    events = race_events(count, racer)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    won = []
    for event in events:
        sub = Subscription(RACE_CHANNEL, event.rule_id)
        items = await store.claim_and_enqueue([(sub, event)], event.fired_at)
        won += [item.rule_id for item in items]
    await store.close()
    print(json.dumps(won))


async def deliver(url: str, platform_url: str, worker_id: str, max_attempts: int = 5) -> None:
    """Deliver one round (the test kills this process while a delivery is in flight)."""
    store = await open_store(url)
    sink = HttpSink(platform_url)
    report = await deliver_outbox(
        store,
        {"discord": sink},
        title_card,
        worker_id,
        clock=FixedClock(),
        lease_seconds=1.0,
        timeout=0.8,
        max_attempts=max_attempts,
    )
    await sink.close()
    await store.close()
    print(json.dumps(report.__dict__))


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "claim":
        asyncio.run(claim(rest[0], int(rest[1]), float(rest[2]), int(rest[3])))
    elif command == "deliver":
        asyncio.run(deliver(rest[0], rest[1], rest[2], *(int(n) for n in rest[3:4])))
    else:
        sys.exit(f"unknown command {command}")
