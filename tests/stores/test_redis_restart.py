"""Redis restarted during a run: the bot reconnects and nothing that was fired is lost."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.domain.model import AlertEvent, Channel, ChannelRef, Subscription
from bot.stores import open_store
from jobs.enqueue import enqueue_alert
from tests.stores.fake_platform import FakePlatform
from tests.stores.own_redis import OwnRedis
from tests.stores.test_store_processes import deliver_until_empty, free_port, platform

__all__ = ["platform"]  # the fixture, re-used

FIRED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)
CHANNELS = [ChannelRef("discord", "guild1", f"trader{n}") for n in range(3)]


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    """A private AOF Redis on a free port."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH (run the tests through `make test`)")
    server = OwnRedis(tmp_path, free_port())
    server.start()
    yield server
    server.kill()


async def test_redis_restarted_during_a_run_reconnects_and_loses_nothing_fired(
    own_redis: OwnRedis, platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store = await open_store(own_redis.url)
    try:
        for ref in CHANNELS:
            await store.upsert_channel(Channel(ref))
            await store.add_subscription(Subscription(ref, "deepseek"))
        warning = AlertEvent("deepseek", date(2025, 1, 27), 1, "warning", FIRED, {"SOX": -4.1})
        before = await enqueue_alert(store, warning, FIRED)

        own_redis.kill()
        crash = AlertEvent("deepseek", date(2025, 1, 27), 3, "crash", FIRED, {"SOX": -9.15})
        firing = asyncio.create_task(
            enqueue_alert(store, crash, FIRED, base_delay=0.1, max_delay=0.5)
        )
        for _ in range(300):  # until the outage has been logged and back-off has begun
            if any("store outage" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        assert not firing.done(), "nothing can be enqueued while Redis is down"
        own_redis.start()
        during = await asyncio.wait_for(firing, 60)

        await deliver_until_empty(store, platform, lease_seconds=1.0)
    finally:
        await store.close()
    assert len(before) == len(during) == len(CHANNELS)
    expected = sorted(item.idempotency_key for item in before + during)
    assert sorted(m["nonce"] for m in platform.messages) == expected, "each exactly once"
    assert any("store outage" in record.getMessage() for record in caplog.records)
    assert any("reachable again" in record.getMessage() for record in caplog.records)
