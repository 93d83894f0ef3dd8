"""The stream's reconnect back-off and the frames it ignores, on yfinance's own websocket.

The delays between reconnects double from `backoff_initial` up to `backoff_max` while
connections fail, and start again from the beginning once a connection was made. The
waits are handed to an injected pause, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.ports import PrintBatch
from tests.fakes.yahoo_fake import StreamFake, pricing_frame

MS = 1_737_988_200_000  # 2025-01-27 14:30 UTC


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Pauses:
    """Records each reconnect delay and runs a step before letting the stream go on."""

    def __init__(self, steps: dict[int, object]) -> None:
        self.delays: list[float] = []
        self.steps = steps

    async def __call__(self, stop: asyncio.Event, seconds: float) -> None:
        self.delays.append(seconds)
        step = self.steps.get(len(self.delays))
        if step is not None:
            await step()  # type: ignore[operator]
        await asyncio.sleep(0)


async def test_failed_connections_back_off_exponentially_and_a_connection_resets_it() -> None:
    port = free_port()  # nobody listens yet: every connection is refused
    server = StreamFake()
    stop = asyncio.Event()

    dropper: list[asyncio.Task[None]] = []

    async def drop_first_connection() -> None:
        await server.wait_connections(1)
        server.drop()

    async def come_up() -> None:  # then the connection it accepts is dropped
        await server.start(port)
        dropper.append(asyncio.create_task(drop_first_connection()))

    async def finish() -> None:
        stop.set()

    pauses = Pauses({5: come_up, 6: finish})
    feed = YahooStreamFeed(
        f"ws://127.0.0.1:{port}/?version=2", backoff_initial=1.0, backoff_max=8.0, pause=pauses
    )

    async def ignore(batch: PrintBatch) -> None:
        return None

    try:
        await asyncio.wait_for(feed.stream(["NVDA"], ignore, stop), 30)
    finally:
        await server.stop()
    # five refusals: 1, 2, 4, 8, 8 (capped); then a connection that drops: 1 again
    assert pauses.delays[:5] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert pauses.delays[5] == 1.0
    assert feed.connections >= 1
    assert all(d.startswith("dropped") for d in feed.disconnects)


async def test_frames_without_a_usable_price_are_ignored_and_the_next_one_prints(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await StreamFake().start()
    feed = YahooStreamFeed(server.url, backoff_initial=0.0)
    stop = asyncio.Event()
    batches: list[PrintBatch] = []

    async def collect(batch: PrintBatch) -> None:
        batches.append(batch)
        stop.set()

    task = asyncio.create_task(feed.stream(["NVDA"], collect, stop))
    try:
        await server.wait_connections(1)
        await server.send(
            [
                "not json",
                json.dumps({"type": "heartbeat"}),
                pricing_frame("NVDA", 0.0, MS),  # no price: protobuf omits a zero
                pricing_frame("NVDA", 118.42, MS + 60_000),
            ]
        )
        await asyncio.wait_for(task, 10)
    finally:
        await server.stop()
    [batch] = batches
    assert abs(batch.prints["NVDA"].price - 118.42) < 1e-3
    assert "not JSON was ignored" in caplog.text
    assert (await feed.fetch(["NVDA"])).prints == {}  # a stream cannot be polled
