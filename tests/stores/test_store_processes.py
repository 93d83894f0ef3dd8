"""Several bot processes, crashes and bad start-ups, against both stores."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import redis

from bot.domain.model import AlertEvent, Channel, ChannelRef, OutboxItem, Subscription
from bot.stores import Store, open_store
from jobs.deliver import DeliveryReport, deliver_outbox
from tests.stores.conftest import REDIS_URL, RealTime, redis_store_url
from tests.stores.fake_platform import FakePlatform, FixedClock, HttpSink, title_card
from tests.stores.procs import RACE_CHANNEL

ROOT = Path(__file__).resolve().parents[2]
ALPHA = ChannelRef("discord", "guild1", "alpha")
FIRED = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)


@pytest.fixture
def store_url(shared_store_url: str) -> str:
    """Several processes open these stores: SQLite and Redis (not the in-memory one)."""
    return shared_store_url


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def python_module(
    *args: str, env: dict[str, str] | None = None, stdin: bool = False
) -> asyncio.subprocess.Process:
    """Start `python -m <args>` from the project root (`stdin`: a pipe the test writes)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def line_with(stream: asyncio.StreamReader | None, needle: str, seen: list[str]) -> str:
    """Read lines until one holds `needle` (an event from another process), keeping them."""
    assert stream is not None
    async with asyncio.timeout(300):  # a bound against a hang: start-up can be slow
        while True:
            line = (await stream.readline()).decode()
            seen.append(line)
            if needle in line:
                return line
            if not line:
                raise AssertionError(f"never saw {needle!r}: {''.join(seen[-20:])}")


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
            await deliver_outbox(
                store,
                {"discord": sink},
                title_card,
                "worker-b",
                clock=FixedClock(),
                lease_seconds=lease_seconds,
                timeout=lease_seconds * 0.8,
            )
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
    count = 200
    racers = [  # each fires at its own time: distinct alert ids and idempotency keys
        await python_module(
            "tests.stores.procs", "claim", store_url, str(count), str(racer), stdin=True
        )
        for racer in range(2)
    ]
    for racer in racers:  # both are connected and ready before either claims anything
        await line_with(racer.stdout, "ready", [])
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write(b"go\n")
        await racer.stdin.drain()
    outputs = [await racer.communicate() for racer in racers]
    for racer, (_, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err.decode()
    reports = [json.loads(out) for out, _ in outputs]
    rules = [f"rule{n}" for n in range(count)]
    assert [report["attempted"] for report in reports] == [rules, rules], "both raced for each"
    won = [report["won"] for report in reports]
    assert set(won[0]).isdisjoint(won[1]), "the same rule alerted one channel twice"
    assert sorted(won[0] + won[1]) == sorted(rules), "one win each"
    store = await open_store(store_url)
    outbox = await store.list_outbox()
    await store.close()
    assert sorted(item.rule_id for item in outbox) == sorted(rules)
    assert len({item.idempotency_key for item in outbox}) == count


@pytest.mark.parametrize("platform_kept_it", [True, False], ids=["accepted", "lost"])
async def test_worker_killed_mid_delivery_item_is_delivered_later_exactly_once(
    store_url: str, platform: FakePlatform, platform_kept_it: bool, real_time: RealTime
) -> None:
    store = await open_store(store_url, time_source=real_time)
    await store.upsert_channel(Channel(ALPHA))
    sub = Subscription(ALPHA, "deepseek")
    event = AlertEvent("deepseek", date(2025, 1, 27), 2, "shock", FIRED, {"SOX": -9.15})
    [item] = await store.claim_and_enqueue([(sub, event)], FIRED)
    platform.hold(keep=platform_kept_it)
    worker = await python_module(
        "tests.stores.procs", "deliver", store_url, platform.url, "w-a", "5", repr(real_time())
    )
    await asyncio.wait_for(platform.arrived.wait(), 30)
    worker.send_signal(signal.SIGKILL)  # before the platform answered
    await worker.wait()
    platform.release()
    real_time.advance(2.0)  # its 1 s lease runs out
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


class PacedSink(HttpSink):
    """An `HttpSink` whose pacer, while `hold` is set, holds every send until `hold()` is
    done (run once, by the first send that asks): a pacer that waits long."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.hold: Callable[[], Awaitable[None]] | None = None
        self._held: asyncio.Task[None] | None = None

    async def pace(self, channel: Channel) -> None:
        if self.hold is not None:
            if self._held is None:
                self._held = asyncio.create_task(self.hold())
            await asyncio.shield(self._held)
        await super().pace(channel)


async def test_two_workers_and_a_lease_that_runs_out_before_the_send_send_every_item_once(
    store_url: str, platform: FakePlatform, real_time: RealTime
) -> None:
    """A worker leases no more than it sends at once, and renews each lease before sending.

    Items queued behind slow sends used to lose their lease and be sent by a second worker
    as well. Here worker a's pacer holds its first sends until their leases have run out (on
    the stores' real-time source) and worker b has taken them over and sent them: a must
    send none of them. Then both share the rest. The POSTs are counted, resends included.
    """
    stores = {name: await open_store(store_url, time_source=real_time) for name in "ab"}
    sinks = {"a": PacedSink(platform.url), "b": HttpSink(platform.url)}
    channels = [ChannelRef("discord", "guild1", f"c{n}") for n in range(40)]
    event = AlertEvent("deepseek", date(2025, 1, 27), 1, "warning", FIRED, {})

    async def queue(refs: list[ChannelRef]) -> list[OutboxItem]:
        for ref in refs:
            await stores["a"].upsert_channel(Channel(ref))
        pairs = [(Subscription(ref, "deepseek"), event) for ref in refs]
        return await stores["a"].claim_and_enqueue(pairs, FIRED)

    async def one_round(name: str, concurrency: int = 4) -> DeliveryReport:
        return await deliver_outbox(
            stores[name], {"discord": sinks[name]}, title_card, f"worker-{name}",
            clock=FixedClock(), lease_seconds=1.0, timeout=0.8, concurrency=concurrency,
            time_source=real_time,
        )  # fmt: skip

    taken_over: list[DeliveryReport] = []

    async def lease_runs_out_while_a_waits() -> None:
        real_time.advance(1.2)  # longer than the 1 s lease
        taken_over.append(await one_round("b", concurrency=8))

    async def worker(name: str) -> int:
        sent = 0
        while True:
            report = await one_round(name)
            sent += report.delivered
            if not report.leased:
                return sent

    try:
        items = await queue(channels[:8])
        sinks["a"].hold = lease_runs_out_while_a_waits
        first = await one_round("a")
        sinks["a"].hold = None
        assert first.leased == 4, "no more than it sends at once (8 were due)"
        assert (first.delivered, first.skipped) == (0, 4), "taken over: a sent none of them"
        assert taken_over[0].delivered == 8
        items += await queue(channels[8:])
        opening = (await one_round("a")).delivered  # then both, at once
        sent = await asyncio.gather(worker("a"), worker("b"))
        assert await stores["a"].list_outbox() == []
    finally:
        for sink in sinks.values():
            await sink.close()
        for store in stores.values():
            await store.close()
    assert opening == 4 and sum(sent) == 28, sent
    assert sorted(platform.nonces_posted) == sorted(i.idempotency_key for i in items), (
        "every item POSTed exactly once"
    )
    assert platform.requests == 40 and len(platform.messages) == 40


async def test_a_poison_item_that_kills_its_workers_is_parked_and_shown(
    store_url: str, platform: FakePlatform, real_time: RealTime
) -> None:
    store = await open_store(store_url, time_source=real_time)
    await store.upsert_channel(Channel(ALPHA))
    event = AlertEvent("deepseek", date(2025, 1, 27), 2, "shock", FIRED, {"SOX": -9.15})
    [item] = await store.claim_and_enqueue([(Subscription(ALPHA, "deepseek"), event)], FIRED)
    try:
        for n in range(2):  # every worker that picks it up dies mid-send
            platform.hold(keep=False)
            worker = await python_module(
                "tests.stores.procs", "deliver", store_url, platform.url, f"w-{n}", "2",
                repr(real_time()),
            )  # fmt: skip
            await asyncio.wait_for(platform.arrived.wait(), 30)
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
            platform.release()
            real_time.advance(2.0)  # its 1 s lease runs out
        sink = HttpSink(platform.url)
        report = await deliver_outbox(
            store,
            {"discord": sink},
            title_card,
            "w-last",
            clock=FixedClock(),
            lease_seconds=1.0,
            timeout=0.8,
            max_attempts=2,
            time_source=real_time,
        )
        await sink.close()
        assert report.leased == 0
        assert platform.requests == 2 and platform.messages == []
    finally:
        await store.close()
    proc = await python_module("bot", "outbox", "--json", env={"SPUTNIK_STORE_URL": store_url})
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    [shown] = json.loads(out)
    assert (shown["id"], shown["state"], shown["attempts"]) == (item.id, "parked", 2)
    assert shown["last_error"] == "worker died 2 times while delivering"


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
async def test_outbox_command_on_a_missing_sqlite_file_fails_and_creates_nothing(
    tmp_path: Path, as_json: bool
) -> None:
    database = tmp_path / "nowhere" / "sputnik.db"
    database.parent.mkdir()
    url = f"sqlite:///{database}"
    args = ["bot", "outbox", *(["--json"] if as_json else [])]
    proc = await python_module(*args, env={"SPUTNIK_STORE_URL": url})
    out, err = await proc.communicate()
    assert proc.returncode == 2
    assert out == b"", "nothing on stdout (--json prints only JSON)"
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "does not exist" in lines[0]
    assert list(database.parent.iterdir()) == [], "no database file created"


async def test_outbox_command_on_a_fresh_redis_prefix_writes_nothing(redis_prefix: str) -> None:
    url = redis_store_url(redis_prefix)
    proc = await python_module("bot", "outbox", "--json", env={"SPUTNIK_STORE_URL": url})
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out) == []
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(match=f"{redis_prefix}*")) == []
    finally:
        client.close()
