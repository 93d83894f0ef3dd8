"""The delivery worker on the sink contract, against both stores: every outcome path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.cli.outbox import _as_dict
from bot.domain.cards import Card
from bot.domain.model import (
    UNKNOWN_OUTCOME_RETRY_SECONDS,
    AlertEvent,
    Channel,
    ChannelRef,
    OutboxItem,
    Subscription,
    print_id,
)
from bot.ports import Delivered, DeliveryOutcome, Failed, Gone, RetryAfter
from bot.stores import Store
from jobs.deliver import EXPIRED, deliver_outbox, run_delivery_worker
from tests.stores.conftest import RealTime
from tests.stores.fake_platform import FixedClock, title_card

CLOSE = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
NEXT_OPEN = datetime(2025, 1, 28, 14, 30, tzinfo=UTC)
ALPHA = ChannelRef("discord", "guild1", "alpha")
GAMMA = ChannelRef("discord", "guild1", "gamma")
BETA = ChannelRef("slack", "T01", "beta")
HANG = "hang"


@dataclass
class ScriptedSink:
    """A chat platform's sink whose answers the test scripts, per channel id, in order."""

    platform: str
    script: dict[str, list[DeliveryOutcome | Exception | str]] = field(default_factory=dict)
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    """(channel id, card title, idempotency key) of every send, in order."""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)
    on_pace: list[Callable[[Channel], Awaitable[None]]] = field(default_factory=list)

    async def pace(self, channel: Channel) -> None:
        for hook in self.on_pace:
            await hook(channel)

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        self.sent.append((channel.ref.channel_id, card.title, idempotency_key))
        answers = self.script.get(channel.ref.channel_id) or []
        answer = answers.pop(0) if answers else Delivered("m1")
        if answer == HANG:
            await self.release.wait()
            answer = Delivered("late")
        if isinstance(answer, Exception):
            raise answer
        assert not isinstance(answer, str)
        if isinstance(answer, Delivered):
            self.delivered.set()
        return answer


def fired(rule_id: str = "deepseek", rank: int = 3, at: datetime = CLOSE) -> AlertEvent:
    """A firing at the 2025-01-27 close that expires at the next open."""
    return AlertEvent(
        rule_id,
        date(2025, 1, 27),
        rank,
        "critical",
        at,
        {"SOX": -9.15},
        print_id=print_id(at, "close"),
        print_kind="close",
        expires_at=NEXT_OPEN,
    )


async def queue(store: Store, ref: ChannelRef, *events: AlertEvent) -> OutboxItem:
    """Subscribe the channel to the events' rules and claim them: one message."""
    if await store.get_channel(ref) is None:
        await store.upsert_channel(Channel(ref, language="ko", timezone="Asia/Seoul"))
    subs = []
    for ev in events:
        sub = Subscription(ref, ev.rule_id)
        await store.add_subscription(sub)
        subs.append((sub, ev))
    [item] = await store.claim_and_enqueue(subs, events[0].fired_at)
    return item


async def one_round(
    store: Store, real_time: RealTime, *sinks: ScriptedSink, timeout: float = 5.0, **kw: object
) -> dict[str, int]:
    report = await deliver_outbox(
        store,
        {sink.platform: sink for sink in sinks},
        title_card,
        "worker-a",
        clock=kw.pop("clock", FixedClock()),  # type: ignore[arg-type]
        timeout=timeout,
        time_source=real_time,
        **kw,  # type: ignore[arg-type]
    )
    return {k: v for k, v in report.__dict__.items() if v}


async def pending(store: Store) -> list[OutboxItem]:
    return [item for item in await store.list_outbox() if item.state == "pending"]


async def test_delivered_item_is_done_and_its_card_was_built_for_the_channel(
    store: Store, real_time: RealTime
) -> None:
    item = await queue(store, ALPHA, fired("deepseek"), fired("chip_crash", rank=2))
    sink = ScriptedSink("discord")
    assert await one_round(store, real_time, sink) == {"leased": 1, "delivered": 1}
    assert sink.sent == [("alpha", "alert deepseek (2) for ko", item.idempotency_key)]
    assert await store.list_outbox() == []


async def test_retry_after_makes_the_item_due_later_without_counting_an_attempt(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord", {"alpha": [RetryAfter(120, "429 global")]})
    assert await one_round(store, real_time, sink) == {"leased": 1, "retried": 1}
    [waiting] = await store.list_outbox()
    assert (waiting.state, waiting.attempts) == ("pending", 0)
    assert waiting.due_at == pytest.approx(real_time.now + 120)
    assert await one_round(store, real_time, sink) == {}, "not due yet, and no lease to wait out"
    real_time.advance(120)
    assert await one_round(store, real_time, sink) == {"leased": 1, "delivered": 1}


async def test_gone_channel_is_deactivated_and_others_still_receive(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    later = fired("chip_crash", at=CLOSE + timedelta(minutes=1))
    await queue(store, ALPHA, later)
    other = await queue(store, GAMMA, fired())
    sink = ScriptedSink("discord", {"alpha": [Gone("Unknown Channel (10003)")]})
    report = await one_round(store, real_time, sink, concurrency=1)
    assert report == {"leased": 1, "gone": 1}
    channel = await store.get_channel(ALPHA)
    assert channel is not None and not channel.active
    assert channel.inactive_reason == "Unknown Channel (10003)"
    parked = [i for i in await store.list_outbox() if i.channel == ALPHA]
    assert [(i.state, i.last_error) for i in parked] == [("parked", "Unknown Channel (10003)")] * 2
    assert await one_round(store, real_time, sink) == {"leased": 1, "delivered": 1}
    assert sink.sent[-1] == ("gamma", "alert deepseek (1) for ko", other.idempotency_key)


async def test_failed_send_counts_an_attempt_and_backs_off_exponentially(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord", {"alpha": [Failed("HTTP 503"), Failed("HTTP 502")]})
    assert await one_round(store, real_time, sink) == {"leased": 1, "failed": 1}
    [item] = await store.list_outbox()
    assert (item.attempts, item.last_error) == (1, "HTTP 503")
    assert item.due_at == pytest.approx(real_time.now + 30), "the lease is released, 30 s back-off"
    real_time.advance(30)
    assert await one_round(store, real_time, sink) == {"leased": 1, "failed": 1}
    [item] = await store.list_outbox()
    assert item.attempts == 2 and item.due_at == pytest.approx(real_time.now + 60)


async def test_a_send_without_an_answer_is_retried_sooner_as_an_unknown_outcome(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord", {"alpha": [HANG]})
    assert await one_round(store, real_time, sink, timeout=0.05) == {"leased": 1, "failed": 1}
    [item] = await store.list_outbox()
    assert item.attempts == 1 and "no answer within" in (item.last_error or "")
    assert item.due_at == pytest.approx(real_time.now + UNKNOWN_OUTCOME_RETRY_SECONDS)
    assert UNKNOWN_OUTCOME_RETRY_SECONDS < 120


async def test_an_exception_from_the_sink_is_a_failure_logged_in_one_line(
    store: Store, real_time: RealTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await queue(store, ALPHA, fired())
    boom = RuntimeError("socket closed\n  while sending")
    sink = ScriptedSink("discord", {"alpha": [boom]})
    assert await one_round(store, real_time, sink) == {"leased": 1, "failed": 1}
    [item] = await store.list_outbox()
    assert item.last_error == "RuntimeError: socket closed while sending"
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)


async def test_an_item_failing_max_attempts_times_is_parked_with_its_last_error(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord", {"alpha": [Failed("HTTP 500")] * 3})
    outcomes = []
    for _ in range(3):
        outcomes.append(await one_round(store, real_time, sink, max_attempts=3))
        real_time.advance(900)
    assert outcomes[-1] == {"leased": 1, "parked": 1}
    [item] = await store.list_outbox()
    assert (item.state, item.attempts, item.last_error) == ("parked", 3, "HTTP 500")
    assert await one_round(store, real_time, sink) == {}


async def test_an_alert_still_undelivered_at_the_next_open_is_parked_as_expired(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord")
    report = await one_round(store, real_time, sink, clock=FixedClock(NEXT_OPEN))
    assert report == {"leased": 1, "expired": 1}
    [item] = await store.list_outbox()
    assert (item.state, item.last_error) == ("parked", EXPIRED)
    assert sink.sent == []


async def test_items_of_an_inactive_channel_are_parked_with_its_reason(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    await store.deactivate(ALPHA, "bot removed from guild")
    sink = ScriptedSink("discord")
    assert await one_round(store, real_time, sink) == {"leased": 1, "parked": 1}
    [item] = await store.list_outbox()
    assert item.last_error == "channel inactive: bot removed from guild" and sink.sent == []


async def test_items_for_a_platform_without_a_sink_wait_untouched_and_are_listed(
    store: Store, real_time: RealTime
) -> None:
    waiting = await queue(store, BETA, fired())
    sink = ScriptedSink("discord")
    assert await one_round(store, real_time, sink) == {}
    [item] = await store.list_outbox()
    assert (item.id, item.state, item.attempts, item.last_error) == (waiting.id, "pending", 0, None)
    shown = _as_dict(item)
    assert (shown["platform"], shown["kind"], shown["state"]) == ("slack", "alert", "pending")
    slack = ScriptedSink("slack")
    assert await one_round(store, real_time, slack) == {"leased": 1, "delivered": 1}


async def test_pacing_that_outlasts_the_lease_sends_nothing_once_another_worker_took_over(
    store: Store, real_time: RealTime
) -> None:
    item = await queue(store, ALPHA, fired())
    taken: list[OutboxItem] = []

    async def slow_budget(channel: Channel) -> None:  # the pacer waits past the lease
        real_time.advance(61)
        taken.extend(await store.lease("worker-b", lease_seconds=60))

    sink = ScriptedSink("discord", on_pace=[slow_budget])
    assert await one_round(store, real_time, sink, lease_seconds=60) == {"leased": 1, "skipped": 1}
    assert sink.sent == [] and [i.id for i in taken] == [item.id]
    assert await store.renew(taken[0], "worker-b"), "worker-b still holds it"


async def test_a_hanging_platform_does_not_hold_back_another_platforms_deliveries(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())
    await queue(store, BETA, fired())
    discord = ScriptedSink("discord", {"alpha": [HANG]})
    slack = ScriptedSink("slack")
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_delivery_worker(
            store,
            {"discord": discord, "slack": slack},
            title_card,
            "w",
            stop,
            clock=FixedClock(),
            idle_seconds=0.01,
            timeout=30,
            time_source=real_time,
        )
    )
    try:
        await asyncio.wait_for(slack.delivered.wait(), 10)
        assert [i.channel for i in await pending(store)] == [ALPHA], "discord's send still hangs"
        discord.release.set()
        await asyncio.wait_for(discord.delivered.wait(), 10)
    finally:
        stop.set()
        discord.release.set()
        await asyncio.wait_for(worker, 10)
    assert await store.list_outbox() == []


async def test_run_delivery_worker_delivers_until_its_stop_event_is_set(
    store: Store, real_time: RealTime
) -> None:
    sink = ScriptedSink("discord")
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_delivery_worker(
            store,
            {"discord": sink},
            title_card,
            "w",
            stop,
            clock=FixedClock(),
            idle_seconds=0.01,
            time_source=real_time,
        )
    )
    item = await queue(store, ALPHA, fired())
    await asyncio.wait_for(sink.delivered.wait(), 10)
    stop.set()
    await asyncio.wait_for(worker, 10)
    assert worker.done() and worker.exception() is None
    assert [key for _, _, key in sink.sent] == [item.idempotency_key]
    assert await store.list_outbox() == []


async def test_a_card_that_cannot_be_built_is_a_failed_attempt(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())

    async def broken(item: OutboxItem, channel: Channel) -> Card:
        raise KeyError("chip_crash")

    sink = ScriptedSink("discord")
    report = await deliver_outbox(
        store, {"discord": sink}, broken, "w", clock=FixedClock(), time_source=real_time
    )
    assert (report.leased, report.failed) == (1, 1) and sink.sent == []
    [item] = await store.list_outbox()
    assert (item.attempts, item.last_error) == (
        1,
        "could not build the card: KeyError: 'chip_crash'",
    )


async def test_a_card_builder_with_nothing_to_send_parks_the_item(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA, fired())

    async def nothing(item: OutboxItem, channel: Channel) -> Card | None:
        return None

    sink = ScriptedSink("discord")
    report = await deliver_outbox(
        store, {"discord": sink}, nothing, "w", clock=FixedClock(), time_source=real_time
    )
    assert report.parked == 1 and sink.sent == []
    [item] = await store.list_outbox()
    assert item.state == "parked" and "nothing to send" in (item.last_error or "")


@dataclass
class LeaseFailsOnce:
    """The store, except that its first `lease` raises a non-outage error (a ResponseError)."""

    inner: Store
    failures: int = 1

    async def lease(self, *args: object, **kwargs: object) -> list[OutboxItem]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ERR unexpected reply\nfrom the store")
        return await self.inner.lease(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_an_unexpected_lease_error_is_logged_in_one_line_and_the_item_still_delivered(
    store: Store, real_time: RealTime, caplog: pytest.LogCaptureFixture
) -> None:
    item = await queue(store, ALPHA, fired())
    sink = ScriptedSink("discord")
    stop = asyncio.Event()
    flaky = LeaseFailsOnce(store)
    with caplog.at_level(logging.WARNING, logger="jobs.deliver"):
        worker = asyncio.create_task(
            run_delivery_worker(
                flaky,  # type: ignore[arg-type]
                {"discord": sink},
                title_card,
                "w",
                stop,
                clock=FixedClock(),
                idle_seconds=0.01,
                time_source=real_time,
            )
        )
        try:
            await asyncio.wait_for(sink.delivered.wait(), 10)
        finally:
            stop.set()
            await asyncio.wait_for(worker, 10)
    assert flaky.failures == 0 and worker.exception() is None
    assert [key for _, _, key in sink.sent] == [item.idempotency_key]
    [error] = [r for r in caplog.records if "round failed" in r.getMessage()]
    assert error.exc_info is None and "\n" not in error.getMessage()
    assert "RuntimeError: ERR unexpected reply from the store" in error.getMessage()
