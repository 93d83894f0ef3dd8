"""Several bot processes, crashes and bad start-ups, against both stores."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.stores import Store, open_store
from bot.stores.port import AlertEvent, Channel, ChannelRef, Subscription
from jobs.deliver import deliver_outbox
from tests.stores.fake_platform import FakePlatform, HttpSink
from tests.stores.procs import RACE_CHANNEL

ROOT = Path(__file__).resolve().parents[2]
ALPHA = ChannelRef("discord", "guild1", "alpha")
FIRED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def python_module(
    *args: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start `python -m <args>` from the project root."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    """The loopback chat platform."""
    fake = FakePlatform()
    await fake.start()
    yield fake
    await fake.stop()


async def deliver_until_empty(store: Store, platform: FakePlatform, lease_seconds: float) -> None:
    """Run delivery rounds (as another worker) until the outbox is empty."""
    sink = HttpSink(platform.url)
    try:
        for _ in range(200):
            await deliver_outbox(store, {"discord": sink}, "worker-b", lease_seconds=lease_seconds)
            if not await store.list_outbox():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"outbox never emptied: {await store.list_outbox()}")
    finally:
        await sink.close()


async def test_two_processes_racing_for_one_alert_exactly_one_wins(store_url: str) -> None:
    store = await open_store(store_url)
    await store.upsert_channel(Channel(RACE_CHANNEL))
    await store.close()
    count, start_at = 200, time.time() + 1.5
    racers = [
        await python_module("tests.stores.procs", "claim", store_url, str(count), str(start_at))
        for _ in range(2)
    ]
    outputs = [await racer.communicate() for racer in racers]
    for racer, (_, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err.decode()
    won = [set(json.loads(out)) for out, _ in outputs]
    assert won[0].isdisjoint(won[1]), "the same alert was claimed twice for one channel"
    assert won[0] | won[1] == {f"rule{n}" for n in range(count)}
    store = await open_store(store_url)
    assert len(await store.list_outbox()) == count
    await store.close()


@pytest.mark.parametrize("platform_kept_it", [True, False], ids=["accepted", "lost"])
async def test_worker_killed_mid_delivery_item_is_delivered_later_exactly_once(
    store_url: str, platform: FakePlatform, platform_kept_it: bool
) -> None:
    store = await open_store(store_url)
    await store.upsert_channel(Channel(ALPHA))
    sub = Subscription(ALPHA, "deepseek")
    event = AlertEvent("deepseek", date(2025, 1, 27), 2, "shock", FIRED, {"SOX": -9.15})
    [item] = await store.claim_and_enqueue([(sub, event)], FIRED)
    platform.hold(keep=platform_kept_it)
    worker = await python_module("tests.stores.procs", "deliver", store_url, platform.url, "w-a")
    await asyncio.wait_for(platform.arrived.wait(), 30)
    worker.send_signal(signal.SIGKILL)  # before the platform answered
    await worker.wait()
    platform.release()
    await asyncio.sleep(0)
    try:
        await deliver_until_empty(store, platform, lease_seconds=1.0)
        assert platform.delivered("alpha") == [item.idempotency_key]
        assert platform.requests == 2, "resent once, under the same idempotency key"
    finally:
        await store.close()


async def test_corrupted_sqlite_file_at_start_up_is_one_clear_line_and_exit_2(
    tmp_path: Path,
) -> None:
    database = tmp_path / "sputnik.db"
    database.write_bytes(b"this is not an SQLite database at all " * 200)
    url = f"sqlite:///{database}"
    proc = await python_module("bot", "outbox", env={"SPUTNIK_STORE_URL": url})
    _out, err = await proc.communicate()
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "Traceback" not in err.decode()


async def test_unreachable_redis_at_start_up_is_one_line_without_the_password_and_exit_2() -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    proc = await python_module("bot", "outbox", env={"SPUTNIK_STORE_URL": url})
    _out, err = await proc.communicate()
    text = err.decode()
    assert proc.returncode == 2
    assert len(text.strip().splitlines()) == 1
    assert "s3cret-pass" not in text and "redis://:***@127.0.0.1" in text


async def test_outbox_command_lists_pending_items_as_json(store_url: str) -> None:
    store = await open_store(store_url)
    await store.upsert_channel(Channel(ALPHA))
    event = AlertEvent("deepseek", date(2025, 1, 27), 1, "warning", FIRED, {})
    [item] = await store.claim_and_enqueue([(Subscription(ALPHA, "deepseek"), event)], FIRED)
    [leased] = await store.lease("w", lease_seconds=0.0)
    await store.mark_failed(leased, "HTTP 503", max_attempts=1)
    await store.close()
    proc = await python_module("bot", "outbox", "--json", env={"SPUTNIK_STORE_URL": store_url})
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    [shown] = json.loads(out)
    assert shown["id"] == item.id and shown["state"] == "parked"
    assert (shown["attempts"], shown["last_error"], shown["channel"]) == (1, "HTTP 503", ALPHA.key)
