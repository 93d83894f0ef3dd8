"""A Redis that answers but refuses writes (READONLY after a failover, OOM) is a store outage.

The alert is held and retried with back-off, as for an unreachable Redis, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
import redis

from bot.domain.model import AlertEvent, Channel, ChannelRef, Subscription
from bot.stores import StoreUnavailable, open_store
from jobs.enqueue import enqueue_alert
from tests.stores.fake_platform import FakePlatform
from tests.stores.test_redis_restart import OwnRedis, own_redis
from tests.stores.test_store_processes import deliver_until_empty, free_port, platform

__all__ = ["own_redis", "platform"]  # the fixtures, re-used

FIRED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)
CHANNELS = [ChannelRef("discord", "guild1", f"trader{n}") for n in range(3)]


def refuse_writes(admin: redis.Redis, fault: str) -> None:
    """READONLY: demote the server to a replica of a master that is down (what Sentinel does
    to an old master); OOM: a 1-byte maxmemory with no eviction."""
    if fault == "readonly":
        admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    else:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)


def accept_writes(admin: redis.Redis, fault: str) -> None:
    """Promote it again / lift the memory limit."""
    if fault == "readonly":
        admin.execute_command("REPLICAOF", "NO", "ONE")
    else:
        admin.config_set("maxmemory", 0)


@dataclass
class HeldBackoff:
    """The retry loop's back-off: records each wait; the `retries`-th one signals `reached`
    and holds until the test sets `release`."""

    retries: int
    slept: list[float] = field(default_factory=list)
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) >= self.retries:
            self.reached.set()
            await self.release.wait()


@pytest.mark.parametrize("fault", ["readonly", "oom"])
async def test_a_redis_refusing_writes_holds_the_alert_and_retries_until_it_accepts_them(
    own_redis: OwnRedis, platform: FakePlatform, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    caplog.set_level(logging.WARNING)
    admin = redis.Redis(port=own_redis.port)
    store = await open_store(own_redis.url)
    try:
        for ref in CHANNELS:
            await store.upsert_channel(Channel(ref))
            await store.add_subscription(Subscription(ref, "deepseek"))

        refuse_writes(admin, fault)
        with pytest.raises(StoreUnavailable, match="READONLY" if fault == "readonly" else "OOM"):
            await store.upsert_channel(Channel(ChannelRef("discord", "guild1", "late")))
        crash = AlertEvent("deepseek", date(2025, 1, 27), 3, "crash", FIRED, {"SOX": -9.15})
        backoff = HeldBackoff(retries=3)
        firing = asyncio.create_task(
            enqueue_alert(store, crash, FIRED, base_delay=0.05, max_delay=0.2, sleep=backoff)
        )
        await asyncio.wait_for(backoff.reached.wait(), 60)  # refused three times, backing off
        assert not firing.done(), "nothing can be enqueued while writes are refused"
        assert await store.list_outbox() == [], "reads still work"
        assert backoff.slept == [0.05, 0.1, 0.2], "exponential back-off, capped"

        accept_writes(admin, fault)
        backoff.release.set()
        items = await asyncio.wait_for(firing, 30)
        assert sorted(item.channel for item in items) == CHANNELS
        await deliver_until_empty(store, platform, lease_seconds=1.0)
    finally:
        accept_writes(admin, fault)
        admin.close()
        await store.close()
    assert sorted(m["nonce"] for m in platform.messages) == sorted(
        item.idempotency_key for item in items
    )
    assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_a_script_error_that_is_not_an_outage_is_not_retried(own_redis: OwnRedis) -> None:
    store = await open_store(own_redis.url)
    admin = redis.Redis(port=own_redis.port)
    try:
        admin.set("restart:dq:discord", "not a sorted set")  # WRONGTYPE: bad data, not an outage
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            await store.lease("w", platforms=["discord"])
    finally:
        admin.close()
        await store.close()
