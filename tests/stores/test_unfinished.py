"""No run ends silently with work in a dead worker's hands.

A replay's end waits for the leases of a worker that died mid-send to run out and delivers
those messages itself; whatever a stopping run leaves pending is said: how many, which
channels, when they are retried. Leases run out on the stores' real-time source, moved by
the test — never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import date
from pathlib import Path

import pytest

from bot.domain.model import AlertEvent, Channel, ChannelRef, OutboxItem, Subscription
from bot.stores import Store
from jobs.unfinished import report_unfinished
from tests.stores.conftest import RealTime
from tests.stores.fake_platform import FakePlatform
from tests.stores.procs import write_time
from tests.stores.test_store_processes import FIRED, line_with, platform, python_module

__all__ = ["platform"]  # the fixture, re-used

ALPHA = ChannelRef("discord", "guild1", "alpha")
BETA = ChannelRef("discord", "guild1", "beta")
CONSOLE = ChannelRef("console", "replay", "every-preset")


async def queue(store: Store, ref: ChannelRef, rule: str = "deepseek") -> OutboxItem:
    """One alert message for `ref`."""
    await store.upsert_channel(Channel(ref))
    event = AlertEvent(rule, date(2025, 1, 27), 2, "shock", FIRED, {"SOX": -9.15})
    [item] = await store.claim_and_enqueue([(Subscription(ref, rule), event)], FIRED)
    return item


async def test_the_outbox_says_who_holds_an_item_since_when_until_it_is_let_go(
    store: Store, real_time: RealTime
) -> None:
    await queue(store, ALPHA)  # an alert message
    await store.enqueue_message("notice", ALPHA, {"text": "hello"}, "notice-1")  # and a notice
    assert [i.leased_at for i in await store.list_outbox()] == [None, None]
    leased = await store.lease("w", lease_seconds=60)
    assert [i.leased_at for i in await store.list_outbox()] == [real_time()] * 2
    real_time.advance(10)
    for item in leased:
        assert await store.renew(item, "w")
    assert [i.leased_at for i in await store.list_outbox()] == [real_time()] * 2
    for item in leased:
        await store.mark_failed(item, "HTTP 500", retry_in=30)
    listed = await store.list_outbox()
    assert [(i.leased_at, i.due_at) for i in listed] == [(None, real_time() + 30)] * 2


async def test_a_stopping_run_says_how_many_items_it_leaves_for_which_channels_and_when(
    store: Store, real_time: RealTime, caplog: pytest.LogCaptureFixture
) -> None:
    await queue(store, ALPHA)
    await store.lease("dead-worker", lease_seconds=60)  # its worker died holding it
    real_time.advance(20)
    failed = await queue(store, BETA)
    [leased] = await store.lease("w", lease_seconds=60, platforms=["discord"])
    assert leased.id == failed.id
    await store.mark_failed(leased, "HTTP 503", retry_in=30)  # due again in 30 s
    await store.enqueue_message("notice", BETA, {"text": "hello"}, "notice-1")  # due now
    await queue(store, CONSOLE)  # another platform's: not this run's to report
    with caplog.at_level(logging.WARNING, logger="jobs.unfinished"):
        left = await report_unfinished(store, ["discord"], 60, "stopped", real_time)
    assert left is not None and len(left.items) == 3
    [line] = [r.getMessage() for r in caplog.records]
    assert line == (
        "run stopping (stopped) with 3 item(s) undelivered for discord:guild1:alpha,"
        " discord:guild1:beta ×2: 1 leased by a worker until 2027-01-15T08:01:00Z (in 40 s) at"
        " the latest; 1 due now; 1 due again from 2027-01-15T08:00:50Z (in 30 s); they stay"
        " in the outbox and are delivered then"
    )


async def test_a_run_that_leaves_nothing_says_nothing(
    store: Store, real_time: RealTime, caplog: pytest.LogCaptureFixture
) -> None:
    await queue(store, CONSOLE)
    with caplog.at_level(logging.INFO, logger="jobs.unfinished"):
        left = await report_unfinished(store, ["discord"], 60, "replay end", real_time)
    assert left is not None and left.items == () and caplog.records == []


@pytest.mark.slow
async def test_a_replay_end_waits_out_a_killed_workers_lease_and_delivers_its_message_once(
    shared_store: Store,
    shared_store_url: str,
    platform: FakePlatform,
    real_time: RealTime,
    tmp_path: Path,
) -> None:
    store, store_url = shared_store, shared_store_url  # the killed worker opens it too
    await queue(store, BETA)
    [failing] = await store.lease("w-old")
    await store.mark_failed(failing, "HTTP 503", retry_in=600)  # due again in 10 minutes
    item = await queue(store, ALPHA)
    platform.hold(keep=False)  # the killed worker's send is lost with it
    dead = await python_module(
        "tests.stores.procs", "deliver", store_url, platform.url, "w-dead", "5", repr(real_time())
    )
    await asyncio.wait_for(platform.arrived.wait(), 300)
    dead.send_signal(signal.SIGKILL)  # while it was sending the alert
    await dead.wait()
    platform.release()
    now = tmp_path / "now"
    write_time(now, real_time() + 0.5)  # its 1 s lease still runs
    survivor = await python_module(
        "tests.stores.procs", "finish", store_url, platform.url, "w-survivor", str(now)
    )
    seen: list[str] = []
    waiting = await line_with(survivor.stderr, "still leased", seen)
    assert "replay end: 1 item(s) still leased (discord:guild1:alpha)" in waiting
    assert "the lease length 1 s" in waiting
    assert platform.delivered("alpha") == [], "not before the dead worker's lease ran out"
    write_time(now, real_time() + 2.0)  # it runs out
    out, err = await asyncio.wait_for(survivor.communicate(), 300)
    log = "".join(seen) + err.decode()
    assert survivor.returncode == 0, log
    assert json.loads(out) == {"left": 1}, log
    assert platform.delivered("alpha") == [item.idempotency_key]
    assert platform.requests == 2, "the lost send, then the survivor's"
    [stopping] = [line for line in log.splitlines() if "run stopping" in line]
    assert "1 item(s) undelivered for discord:guild1:beta: 1 due again from" in stopping
    assert "(in 598 s)" in stopping
