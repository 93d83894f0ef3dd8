"""Separate bot processes for the race and crash tests (`python -m tests.stores.procs ...`)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, date, datetime

from bot.stores import open_store
from bot.stores.port import AlertEvent, ChannelRef, Subscription
from jobs.deliver import deliver_outbox
from tests.stores.fake_platform import HttpSink

RACE_CHANNEL = ChannelRef("discord", "guild", "race")


def race_events(count: int) -> list[AlertEvent]:
    """`count` distinct firings both racers try to claim."""
    fired = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)
    return [
        AlertEvent(f"rule{n}", date(2025, 1, 27), 1, "shock", fired, {"n": n}) for n in range(count)
    ]


async def claim(url: str, count: int, start_at: float) -> None:
    """Claim every race event for the race channel, starting at `start_at`; print wins."""
    store = await open_store(url)
    events = race_events(count)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    won = []
    for event in events:
        sub = Subscription(RACE_CHANNEL, event.rule_id)
        items = await store.claim_and_enqueue([(sub, event)], event.fired_at)
        won += [item.rule_id for item in items]
    await store.close()
    print(json.dumps(won))


async def deliver(url: str, platform_url: str, worker_id: str) -> None:
    """Deliver one round (the test kills this process while a delivery is in flight)."""
    store = await open_store(url)
    sink = HttpSink(platform_url)
    report = await deliver_outbox(store, {"discord": sink}, worker_id, lease_seconds=1.0)
    await sink.close()
    await store.close()
    print(json.dumps(report.__dict__))


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "claim":
        asyncio.run(claim(rest[0], int(rest[1]), float(rest[2])))
    elif command == "deliver":
        asyncio.run(deliver(rest[0], rest[1], rest[2]))
    else:
        sys.exit(f"unknown command {command}")
