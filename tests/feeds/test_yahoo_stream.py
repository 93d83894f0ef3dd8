"""The push stream through yfinance's own AsyncWebSocket and PricingData, on a loopback fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.rules.evaluate import CompiledRules
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, FeedTick, LiveFeed, extended_proxies
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.ports import PrintBatch
from bot.services import Core
from tests.fakes.yahoo_fake import StreamFake, pricing_frame

from .conftest import StepClock

MS = 1_737_988_200_000  # 2025-01-27 14:30 UTC, the open


@pytest.fixture
async def fake() -> AsyncIterator[StreamFake]:
    server = await StreamFake().start()
    yield server
    await server.stop()


async def _collect(
    fake: StreamFake, feed: YahooStreamFeed, symbols: list[str]
) -> tuple[list[PrintBatch], asyncio.Event, asyncio.Task[None]]:
    batches: list[PrintBatch] = []
    stop = asyncio.Event()

    async def on_batch(batch: PrintBatch) -> None:
        batches.append(batch)

    task = asyncio.create_task(feed.stream(symbols, on_batch, stop))
    await fake.wait_connections(1)
    return batches, stop, task


async def _until(predicate: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_pricing_frames_decode_into_prints_with_their_market_session(
    fake: StreamFake,
) -> None:
    feed = YahooStreamFeed(fake.url, backoff_initial=0.0)
    batches, stop, task = await _collect(fake, feed, ["NVDA", "SOXX"])
    assert fake.subscriptions[0] == ["NVDA", "SOXX"]
    await fake.send(
        [
            pricing_frame("SOXX", 210.5, MS - 3_600_000, market_hours=0, previous_close=230.0),
            pricing_frame("NVDA", 118.42, MS + 60_000, market_hours=1, open_price=124.0),
        ]
    )
    await _until(lambda: len(batches) == 2)
    stop.set()
    await task
    pre, regular = batches[0].prints["SOXX"], batches[1].prints["NVDA"]
    assert pre.market_session == "pre" and pre.previous_close == 230.0
    assert pre.at.timestamp() == (MS - 3_600_000) / 1000
    assert regular.market_session == "regular" and regular.open == 124.0
    assert abs(regular.price - 118.42) < 1e-3


async def test_a_clean_close_by_the_server_reconnects_and_resubscribes(fake: StreamFake) -> None:
    feed = YahooStreamFeed(fake.url, backoff_initial=0.0)
    batches, stop, task = await _collect(fake, feed, ["NVDA"])
    await fake.close_clean()
    await fake.wait_connections(2)
    await fake.send([pricing_frame("NVDA", 120.0, MS)])
    await _until(lambda: len(batches) == 1)
    stop.set()
    await task
    assert fake.subscriptions == [["NVDA"], ["NVDA"]]
    assert feed.disconnects == ["closed by the server"]


async def test_an_abrupt_drop_reconnects_and_prints_flow_again(fake: StreamFake) -> None:
    feed = YahooStreamFeed(fake.url, backoff_initial=0.0)
    batches, stop, task = await _collect(fake, feed, ["NVDA"])
    fake.drop()
    await fake.wait_connections(2)
    await fake.send([pricing_frame("NVDA", 121.0, MS)])
    await _until(lambda: len(batches) == 1)
    stop.set()
    await task
    assert feed.connections == 2
    assert feed.disconnects[0].startswith("dropped")


async def test_the_event_loop_stays_responsive_while_the_server_is_gone(
    fake: StreamFake,
) -> None:
    feed = YahooStreamFeed(fake.url, backoff_initial=0.01, backoff_max=0.05)
    _, stop, task = await _collect(fake, feed, ["NVDA"])
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await fake.stop()
    # yfinance's own listen() would spin here, starving this loop and never reconnecting:
    # the stream ends that connection and keeps trying again, with back-off, while the
    # loop runs other tasks.
    await _until(lambda: len(feed.disconnects) >= 4, timeout=30)
    turned = turns
    stop.set()
    await asyncio.wait_for(task, 5)
    counter.cancel()
    assert feed.connections == 1, "the server is gone: no reconnect succeeds"
    refused = feed.disconnects[1:]
    assert refused and all(reason.startswith("dropped: ") for reason in refused), feed.disconnects
    assert turned > len(feed.disconnects), "the loop kept turning between the attempts"


async def test_streamed_pre_market_frames_become_an_evaluated_snapshot_that_fires_deepseek(
    fake: StreamFake, core: Core, preset_rules: CompiledRules, tmp_path: Path
) -> None:
    clock = StepClock(datetime(2025, 1, 27, 13, 5, tzinfo=UTC))
    ticks: list[FeedTick] = []

    async def on_tick(tick: FeedTick) -> None:
        ticks.append(tick)

    live = LiveFeed(
        LiveMarket(core.market, BackfillCache(tmp_path)),
        ["SOXX", "DIA"],
        YahooPollFeed(),
        stream=YahooStreamFeed(fake.url, backoff_initial=0.0),
        clock=clock,
        settings=FeedSettings(),
        extended=extended_proxies(core.settings.aliases),
        on_tick=on_tick,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(live.run_stream(stop))
    await fake.wait_connections(1)
    now_ms = int(clock.now().timestamp() * 1000)
    await fake.send(
        [
            pricing_frame("SOXX", 212.55, now_ms - 60_000, market_hours=0),
            pricing_frame("DIA", 434.9, now_ms - 30_000, market_hours=0),
        ]
    )
    await _until(lambda: len(ticks) == 2)
    stop.set()
    await task
    last = ticks[-1]
    assert last.kind == "pre" and last.changed == {"DIA"} and not last.stale
    assert {"deepseek", "chip_crash"} <= {rule.id for rule in preset_rules.fired(last.snapshot)}
