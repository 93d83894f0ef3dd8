"""The jobs need nothing Yahoo-specific: a second quotes adapter, built here in memory,
drives the evaluate → claim path through the ports."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import bootstrap
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.ports import Print, PrintBatch, PrintHandler, QuoteFeed
from bot.settings import load_settings
from jobs.market_jobs import SchedulerSettings, market_jobs
from jobs.scheduler import Scheduler

from .conftest import StepClock

PRINTED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)  # 10:00 New York, DeepSeek Monday
ROOM = ChannelRef("console", "local", "room")


class MemoryQuotes:
    """A quotes adapter over prints held in memory (no vendor library, no network)."""

    name = "memory"

    def __init__(self, clock: StepClock) -> None:
        self.clock = clock
        self.prices: dict[str, float] = {}
        self.fetched: list[list[str]] = []

    async def fetch(self, symbols: Sequence[str]) -> PrintBatch:
        self.fetched.append(list(symbols))
        prints = {
            s: Print(s, price, PRINTED, "regular", "memory quotes")
            for s, price in self.prices.items()
            if s in symbols
        }
        missing = {s: "no_data" for s in symbols if s not in prints}
        return PrintBatch(prints, self.clock.now(), "memory quotes", missing)

    async def stream(
        self, symbols: Sequence[str], on_batch: PrintHandler, stop: asyncio.Event
    ) -> None:
        return


async def test_the_opening_check_on_an_in_memory_quotes_adapter_claims_the_deepseek_alert(
    tmp_path: Path,
) -> None:
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    settings = settings.model_copy(
        update={"feed": settings.feed.model_copy(update={"stream": False})}
    )
    clock = StepClock(datetime(2025, 1, 27, 14, 30, 30, tzinfo=UTC))
    quotes = MemoryQuotes(clock)
    feed: QuoteFeed = quotes
    app = await bootstrap(
        settings,
        clock=clock,
        store_url=f"sqlite:///{tmp_path / 'app.db'}",
        env={},
        feed=feed,
        cache_dir=tmp_path,
        deliver=False,
    )
    try:
        sox = app.market.previous_close("^SOX", PRINTED)
        dia = app.market.previous_close("DIA", PRINTED)
        assert sox is not None and dia is not None
        quotes.prices = {"^SOX": sox * 0.90, "DIA": dia * 1.005}  # chips -10 %, the Dow up
        await app.store.upsert_channel(Channel(ROOM))
        await app.store.add_subscription(Subscription(ROOM, "deepseek"))
        jobs = market_jobs(app.live, None, SchedulerSettings())
        scheduler = Scheduler([j for j in jobs if j.id == "nyse-open"], clock, app.store)
        assert scheduler.next_due() == datetime(2025, 1, 27, 14, 31, tzinfo=UTC)
        clock.current = datetime(2025, 1, 27, 14, 31, 5, tzinfo=UTC)
        outcomes = await scheduler.run_due()
        assert [o.outcome for o in outcomes] == ["ran"]
        assert quotes.fetched, "the opening check polled the in-memory adapter"
        fired = [line.split(" ")[0] for line in app.report.fired]
        assert "deepseek[critical]" in fired  # SOX -10 % (critical from 8) while DIA rises
        [item] = await app.store.list_outbox()
        assert item.channel == ROOM and item.state == "pending"
    finally:
        await app.close()


@pytest.mark.parametrize("vendor_module", ["yfinance", "bot.feeds.yahoo_poll"])
def test_the_jobs_runner_handlers_and_domain_import_no_vendor(vendor_module: str) -> None:
    root = Path(__file__).resolve().parents[2]
    needle = vendor_module.split(".")[-1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("jobs", "handlers", "bot/domain")
        for path in (root / folder).rglob("*.py")
        if f"import {needle}" in path.read_text(encoding="utf-8")
        or f"{vendor_module} import" in path.read_text(encoding="utf-8")
    ]
    runner = (root / "bot/runner.py").read_text(encoding="utf-8")
    if f"{vendor_module} import" in runner or f"import {needle}" in runner:
        offenders.append("bot/runner.py")
    assert offenders == []
