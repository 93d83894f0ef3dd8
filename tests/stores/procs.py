"""Separate bot processes for the race and crash tests (`python -m tests.stores.procs ...`).

Their stores' real time (leases, due times) is the test's: a fixed epoch given on the command
line, or the epoch in a file the test rewrites (`FileTime`), so a lease runs out when the test
says so, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.domain.model import AlertEvent, ChannelRef, Subscription
from bot.stores import open_store
from jobs.deliver import deliver_outbox, run_delivery_worker
from jobs.unfinished import await_leases, report_unfinished
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


async def claim(url: str, count: int, racer: int) -> None:
    """Say `ready`, wait for `go` on stdin, then claim every race event for the race channel.

    Prints what it attempted and what it won: both racers attempt every claim, so exactly
    one wins each, whichever process is faster."""
    store = await open_store(url)
    events = race_events(count, racer)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test's "go", once both are ready
    attempted, won = [], []
    for event in events:
        sub = Subscription(RACE_CHANNEL, event.rule_id)
        attempted.append(event.rule_id)
        items = await store.claim_and_enqueue([(sub, event)], event.fired_at)
        won += [item.rule_id for item in items]
    await store.close()
    print(json.dumps({"attempted": attempted, "won": won}), flush=True)


class FileTime:
    """Real time read from a file the test rewrites (epoch seconds)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def __call__(self) -> float:
        return float(self.path.read_text())


def write_time(path: Path, epoch: float) -> None:
    """Set a `FileTime` (atomically: a reader never sees half a number)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(repr(epoch))
    os.replace(temporary, path)


async def deliver(
    url: str, platform_url: str, worker_id: str, max_attempts: int, now: float
) -> None:
    """Deliver one round at real time `now` (the test kills this process while a delivery is
    in flight)."""
    store = await open_store(url, time_source=lambda: now)
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
        time_source=lambda: now,
    )
    await sink.close()
    await store.close()
    print(json.dumps(report.__dict__))


async def finish(url: str, platform_url: str, worker_id: str, time_file: str) -> None:
    """A replay's end, as `run` does it: its delivery worker runs while `await_leases` waits
    for items other workers hold, then what is left is reported; prints what it delivered."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    real_time = FileTime(time_file)
    store = await open_store(url, time_source=real_time)
    sink, stop, end = HttpSink(platform_url), asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(
        run_delivery_worker(
            store, {"discord": sink}, title_card, worker_id, stop, clock=FixedClock(),
            idle_seconds=0.05, lease_seconds=1.0, timeout=0.8, time_source=real_time,
        )
    )  # fmt: skip
    left = await await_leases(
        store, ["discord"], lease_seconds=1.0, timeout=0.8, stop=end, time_source=real_time
    )
    stop.set()
    await worker
    await report_unfinished(store, ["discord"], 1.0, "replay end", real_time)
    await sink.close()
    await store.close()
    print(json.dumps({"left": len(left.items)}), flush=True)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "claim":
        asyncio.run(claim(rest[0], int(rest[1]), int(rest[2])))
    elif command == "deliver":
        asyncio.run(deliver(rest[0], rest[1], rest[2], int(rest[3]), float(rest[4])))
    elif command == "finish":
        asyncio.run(finish(*rest[:4]))
    else:
        sys.exit(f"unknown command {command}")
