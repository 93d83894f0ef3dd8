"""The outbound path at scale: the 2025-01-27 close group (four alerts) to 10,000 channels.

Every channel is subscribed to every preset; half are Korean, spread over three time zones.
Measured on SQLite and Redis side by side: claim + enqueue time (evaluate → claim → outbox),
render time (lease every item and build its Card for its channel, as the delivery worker
does), charts rendered (one per language: 2), and the store's growth in bytes (SQLite file
plus WAL after a checkpoint; Redis `MEMORY USAGE` summed over the prefix).
Targets: claim + enqueue ≤ 1 s on Redis, ≤ 2 s on SQLite; growth < 5 MB.

Run: `.venv/bin/python -m bench outbound`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bench.bench_store import delete_bench_prefix, redis_bench_url
from bot.app import build_core, build_services
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.services import Core, ManualClock
from bot.settings import load_settings
from bot.stores import Store, open_store
from jobs.evaluate import evaluate_and_claim
from jobs.render import CardRenderer
from jobs.rule_book import PrintTick, RuleBook

CHANNELS = 10_000
ZONES = ("Asia/Seoul", "America/New_York", "Europe/London")
SESSION = pd.Timestamp("2025-01-27")


async def _populate(store: Store, core: Core) -> None:
    for n in range(CHANNELS):
        ref = ChannelRef("discord", f"guild{n % 97}", f"chan{n}")
        language = "ko" if n % 2 else "en"
        await store.upsert_channel(Channel(ref, language=language, timezone=ZONES[n % 3]))
        for preset in core.presets:
            await store.add_subscription(Subscription(ref, preset))


def _sqlite_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _redis_bytes(base: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(base)
    try:
        return sum(
            int(client.memory_usage(key) or 0)
            for key in client.scan_iter(match=f"{prefix}*", count=1000)
        )
    finally:
        client.close()


async def _measure(core: Core, url: str, size: Callable[[], int]) -> dict[str, float]:
    store = await open_store(url)
    figures: dict[str, float] = {}
    try:
        await _populate(store, core)
        before = size()
        snapshot = core.market.snapshot(SESSION, "close")
        clock = ManualClock(snapshot.moment)
        services = build_services(core, store, clock=clock)
        book = RuleBook(core.market.symbols, list(core.presets.values()))
        tick = PrintTick(snapshot, "close", frozenset(snapshot.quotes))
        start = time.perf_counter()
        report = await evaluate_and_claim(services, tick, book=book)
        figures["claim"] = time.perf_counter() - start
        figures["alerts"] = len(report.fired)
        figures["items"] = len(report.items)
        figures["queued_mb"] = (size() - before) / 1e6
        renderer = CardRenderer(services)
        start = time.perf_counter()
        rendered = 0
        while True:
            items = await store.lease("bench", limit=500, lease_seconds=600)
            if not items:
                break
            channels = {}
            for item in items:
                channel = channels.get(item.channel) or await store.get_channel(item.channel)
                assert channel is not None
                card = await renderer(item, channel)
                assert card is not None and len(card.sections) == 4
                rendered += 1
                await store.mark_delivered(item)
        figures["render"] = time.perf_counter() - start
        figures["rendered"] = rendered
        figures["charts"] = renderer.charts_rendered
        figures["growth_mb"] = (size() - before) / 1e6
    finally:
        await store.close()
    return figures


def main() -> None:
    """Print the claim, render, chart and storage figures for both stores."""
    core = build_core(load_settings(env={"SPUTNIK_CONFIG": os.devnull}))
    results: dict[str, dict[str, float] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        results["SQLite"] = asyncio.run(
            _measure(core, f"sqlite:///{path}", lambda: _sqlite_bytes(path))
        )
    url, base = redis_bench_url()
    prefix = url.rsplit("prefix=", 1)[1]
    try:
        results["Redis"] = asyncio.run(_measure(core, url, lambda: _redis_bytes(base, prefix)))
    except Exception as exc:
        results["Redis"] = f"skipped: {exc}"
    finally:
        delete_bench_prefix(base, url)
    rows = [
        ("alerts in the close group", "alerts", "{:.0f}"),
        ("messages queued (one per channel)", "items", "{:,.0f}"),
        ("claim + enqueue (s; ≤ 1 Redis, ≤ 2 SQLite)", "claim", "{:.3f}"),
        ("render 10,000 cards for their channels (s)", "render", "{:.2f}"),
        ("charts rendered (target 2)", "charts", "{:.0f}"),
        ("store growth once queued (MB)", "queued_mb", "{:.2f}"),
        ("store growth with charts, delivered (MB; < 5)", "growth_mb", "{:.2f}"),
    ]
    print(f"{'':46} {'SQLite':>10} {'Redis':>10}")
    for label, key, fmt in rows:
        cells = []
        for name in ("SQLite", "Redis"):
            figures = results[name]
            cells.append(fmt.format(figures[key]) if isinstance(figures, dict) else "-")
        print(f"{label:46} {cells[0]:>10} {cells[1]:>10}")
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"{name}: {figures}")
