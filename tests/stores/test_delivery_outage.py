"""The delivery worker rides out a Redis outage: it backs off, then delivers what was queued;
an outage at any step of a delivery is waited out and never counted against the message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from bot.domain.cards import Card
from bot.domain.model import AlertEvent, Channel, ChannelRef, OutboxItem, Subscription, chart_key
from bot.ports import Delivered, DeliveryOutcome
from bot.stores import open_store
from jobs.deliver import run_delivery_worker
from tests.stores.conftest import RealTime
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


OUTAGE_SECONDS = 1000.0
"""Longer than five failed-attempt back-offs (30 + 60 + 120 + 240 + 480 s): had the outage
counted against the message, it would have been parked."""
STEPS = ["lease", "card", "chart", "mark"]


@dataclass
class OutageSleep:
    """The worker's back-off sleeps, on the store's real-time source: the first one taken
    during an outage signals `waiting` and holds until the test has let `OUTAGE_SECONDS`
    pass and the store is back (`release`)."""

    real_time: RealTime
    slept: list[float] = field(default_factory=list)
    outage: bool = False
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.real_time.advance(seconds)
        if self.outage:
            self.waiting.set()
            await self.release.wait()
        await asyncio.sleep(0)


@dataclass
class StepSink:
    """A platform that accepts every message; `on_send` runs after it accepted one."""

    platform: str = "discord"
    sent: list[str] = field(default_factory=list)
    on_send: list[Callable[[], None]] = field(default_factory=list)

    async def pace(self, channel: Channel) -> None:
        return None

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        self.sent.append(idempotency_key)
        for hook in self.on_send:
            hook()
        return Delivered(str(len(self.sent)))


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
async def test_a_store_outage_at_any_step_is_waited_out_and_never_counted_against_a_message(
    own_redis: OwnRedis, real_time: RealTime, caplog: pytest.LogCaptureFixture, step: str
) -> None:
    caplog.set_level(logging.WARNING)
    store = await open_store(own_redis.url, time_source=real_time)
    sleep, sink, stop = OutageSleep(real_time), StepSink(), asyncio.Event()
    channels = [ChannelRef("discord", "guild1", f"c{n}") for n in range(3)]

    def stop_the_store(at: str) -> None:
        if step == at and not sleep.waiting.is_set() and not sleep.outage:
            sleep.outage = True  # once, at this step of the first delivery that reaches it
            own_redis.kill()

    async def build(item: OutboxItem, channel: Channel) -> Card:
        stop_the_store("card")
        events = await store.alert_events(item.alert_ids)  # the card reads the stored events
        stop_the_store("chart")
        await store.put_chart(chart_key(item.print_id, "SOX", channel.language), b"png")
        return Card(title=f"{events[0].rule_id} for {channel.ref.channel_id}")

    sink.on_send.append(lambda: stop_the_store("mark"))
    try:
        items = []
        for ref in channels:
            await store.upsert_channel(Channel(ref))
            sub = Subscription(ref, "deepseek")
            event = AlertEvent("deepseek", date(2025, 1, 27), 3, "critical", FIRED, {})
            items += await store.claim_and_enqueue([(sub, event)], FIRED)
        stop_the_store("lease")
        worker = asyncio.create_task(
            run_delivery_worker(
                store, {"discord": sink}, build, "w", stop, clock=FixedClock(),
                idle_seconds=0.05, time_source=real_time, sleep=sleep,
            )
        )  # fmt: skip
        await asyncio.wait_for(sleep.waiting.wait(), 300)
        real_time.advance(OUTAGE_SECONDS)  # the store stays down for this long
        own_redis.start()
        sleep.outage = False
        sleep.release.set()
        async with asyncio.timeout(300):
            while await store.list_outbox():  # until every item is settled (none parked)
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(worker, 30)
    finally:
        stop.set()
        await store.close()
    assert sorted(sink.sent) == sorted(item.idempotency_key for item in items), "each once"
    messages = [r.getMessage() for r in caplog.records]
    if step != "lease":
        assert any("lease kept, no attempt counted" in m for m in messages)
    counted = ("could not build", " failed: ", "outcome unknown", "parked")
    assert not [m for m in messages if any(word in m for word in counted)]
