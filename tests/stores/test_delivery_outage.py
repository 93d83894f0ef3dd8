"""The delivery worker rides out a Redis outage: it backs off, then delivers what was queued."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

import pytest

from bot.stores import open_store
from bot.stores.port import AlertEvent, Channel, ChannelRef, Subscription
from jobs.deliver import run_delivery_worker
from tests.stores.fake_platform import FixedClock, title_card
from tests.stores.test_delivery_worker import ScriptedSink
from tests.stores.test_redis_restart import OwnRedis, own_redis

__all__ = ["own_redis"]  # the fixture, re-used

FIRED = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
ALPHA = ChannelRef("discord", "guild1", "alpha")


async def test_a_store_outage_pauses_the_worker_and_nothing_queued_is_lost(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store = await open_store(own_redis.url)
    sink = ScriptedSink("discord")
    stop = asyncio.Event()
    try:
        await store.upsert_channel(Channel(ALPHA))
        sub = Subscription(ALPHA, "deepseek")
        await store.add_subscription(sub)
        event = AlertEvent("deepseek", date(2025, 1, 27), 3, "critical", FIRED, {})
        [item] = await store.claim_and_enqueue([(sub, event)], FIRED)
        own_redis.kill()
        worker = asyncio.create_task(
            run_delivery_worker(
                store, {"discord": sink}, title_card, "w", stop, clock=FixedClock(),
                idle_seconds=0.05,
            )
        )  # fmt: skip
        for _ in range(600):
            if any("store outage in delivery worker" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        assert not worker.done() and sink.sent == []
        own_redis.start()
        await asyncio.wait_for(sink.delivered.wait(), 60)
        stop.set()
        await asyncio.wait_for(worker, 60)
    finally:
        stop.set()
        await store.close()
    assert [key for _, _, key in sink.sent] == [item.idempotency_key]
