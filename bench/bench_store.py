"""Store speed: fan one fired alert out to 10,000 channels, on SQLite and on Redis, side by side.

Run: `make bench` or `.venv/bin/python -m bench store`. Redis comes from SPUTNIK_BENCH_REDIS_URL,
else SPUTNIK_TEST_REDIS_URL (default redis://127.0.0.1:6379/15), under a prefix of its own that
is deleted afterwards. Figures are printed, never asserted; the target is < 0.5 s per fan-out.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.domain.model import AlertEvent, Channel, ChannelRef, Subscription
from bot.stores import Store, open_store

CHANNELS = 10_000
SINGLE_CLAIMS = 2_000
DELIVERIES = 2_000
TARGET_SECONDS = 0.5
FIRED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)


def _event(rank: int = 2, at: datetime = FIRED, rule_id: str = "deepseek") -> AlertEvent:
    return AlertEvent(rule_id, date(2025, 1, 27), rank, "shock", at, {"SOX": -9.15, "NVDA": -16.97})


async def _populate(store: Store) -> None:
    for n in range(CHANNELS):
        ref = ChannelRef("discord", f"guild{n % 97}", f"chan{n}")
        await store.upsert_channel(Channel(ref, language="ko" if n % 2 else "en"))
        await store.add_subscription(Subscription(ref, "deepseek"))
        if n < SINGLE_CLAIMS:
            await store.add_subscription(Subscription(ref, "single"))


async def _measure(url: str) -> dict[str, float]:
    store = await open_store(url)
    figures: dict[str, float] = {}
    try:
        start = time.perf_counter()
        await _populate(store)
        figures["setup"] = time.perf_counter() - start

        start = time.perf_counter()
        recipients = await store.recipients("deepseek", now=FIRED)
        figures["select"] = time.perf_counter() - start
        start = time.perf_counter()
        event = _event()
        items = await store.claim_and_enqueue([(s, event) for s in recipients], FIRED)
        figures["enqueue"] = time.perf_counter() - start
        figures["fanout"] = figures["select"] + figures["enqueue"]
        figures["recipients"] = len(recipients)
        figures["enqueued"] = len(items)

        # A second tier in the same session: all 10,000 claims re-checked and granted.
        escalation = _event(rank=3, at=FIRED + timedelta(minutes=5))
        start = time.perf_counter()
        again = await store.claim_and_enqueue([(s, escalation) for s in recipients], FIRED)
        figures["batch_claims_per_s"] = len(again) / (time.perf_counter() - start)

        # One claim per call, as a poll loop with few recipients would do.
        singles = (await store.recipients("single", now=FIRED))[:SINGLE_CLAIMS]
        start = time.perf_counter()
        single = _event(1, FIRED, "single")
        for sub in singles:
            await store.claim_and_enqueue([(sub, single)], FIRED)
        figures["single_claims_per_s"] = len(singles) / (time.perf_counter() - start)

        start = time.perf_counter()
        done = 0
        while done < DELIVERIES:
            leased = await store.lease("bench", limit=200, lease_seconds=300)
            for item in leased[: DELIVERIES - done]:
                await store.renew(item, "bench")  # as jobs.deliver does right before a send
                await store.mark_delivered(item)
                done += 1
        figures["deliveries_per_s"] = done / (time.perf_counter() - start)
    finally:
        await store.close()
    return figures


def redis_bench_url() -> tuple[str, str]:
    base = os.environ.get("SPUTNIK_BENCH_REDIS_URL") or os.environ.get(
        "SPUTNIK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
    )
    prefix = f"sputnik-bench:{uuid.uuid4().hex[:8]}:"
    return f"{base}{'&' if '?' in base else '?'}prefix={prefix}", base


def delete_bench_prefix(base: str, url: str) -> None:
    import redis

    prefix = url.rsplit("prefix=", 1)[1]
    client = redis.Redis.from_url(base)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def main() -> None:
    """Print the fan-out and claim figures for both stores."""
    results: dict[str, dict[str, float] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = asyncio.run(_measure(f"sqlite:///{Path(tmp) / 'bench.db'}"))
    url, base = redis_bench_url()
    try:
        results["Redis"] = asyncio.run(_measure(url))
    except Exception as exc:  # a missing server is reported, not fatal to other benchmarks
        results["Redis"] = f"skipped: {exc}"
    finally:
        try:
            delete_bench_prefix(base, url)
        except Exception as exc:
            print(f"(could not clean up Redis prefix: {exc})")
    rows = [
        ("setup: 10,000 channels + subscriptions (s)", "setup", "{:.2f}"),
        ("select recipients of 'deepseek' (s)", "select", "{:.3f}"),
        ("claim + enqueue 10,000 deliveries (s)", "enqueue", "{:.3f}"),
        (f"fan-out total, target < {TARGET_SECONDS} s (s)", "fanout", "{:.3f}"),
        ("deliveries enqueued", "enqueued", "{:.0f}"),
        ("claims/s, batched (escalation, 10,000)", "batch_claims_per_s", "{:,.0f}"),
        (f"claims/s, one per call ({SINGLE_CLAIMS:,})", "single_claims_per_s", "{:,.0f}"),
        (f"lease + renew + mark delivered/s ({DELIVERIES:,})", "deliveries_per_s", "{:,.0f}"),
    ]
    print(f"{'':48} {'SQLite':>12} {'Redis':>12}")
    for label, key, fmt in rows:
        cells = []
        for name in ("SQLite", "Redis"):
            figures = results[name]
            cells.append(fmt.format(figures[key]) if isinstance(figures, dict) else "-")
        print(f"{label:48} {cells[0]:>12} {cells[1]:>12}")
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"{name}: {figures}")
