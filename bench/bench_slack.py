"""Slack delivery: the paced sink through slack_sdk against a fake enforcing 1 msg/s per channel.

Run: `make bench` or `.venv/bin/python -m bench slack` (about 25 s). 1,000 text-only alerts
to 100 channels (10 each); the fake on loopback accepts at most one message per second per
channel (no burst) and answers faster posts with a real 429 + Retry-After. Each channel's
alerts go out the way the delivery worker sends them (`pace`, then `send`; a RetryAfter is
sent again after its seconds, in order). Printed: total time against the theoretical minimum
(9 s: target ≤ 1.1×), lost, duplicated, out-of-order channels, share of requests answered 429
(target < 1 %). The paced sink records every key in a SQLite attempt log before its post, as
in production on a SQLite store. Then, for comparison, the same fan-out with the pacer off
(slack_sdk's 429 retry handler alone). Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.chat.slack.attempts import StoredAttempts
from bot.chat.slack.config import SlackConfig
from bot.chat.slack.sink import SlackSink, static_token
from bot.domain.cards import Card, Severity
from bot.domain.model import Channel, ChannelRef
from bot.ports import Delivered, RetryAfter
from bot.stores import open_store
from tests.fakes.slack_fake import SlackFake

CHANNELS = 100
PER_CHANNEL = 10
INTERVAL = 1.0
TOKEN = "xoxb-bench-token"
MINIMUM = (PER_CHANNEL - 1) * INTERVAL


@dataclass
class Result:
    """One fan-out's figures."""

    seconds: float
    lost: int
    duplicated: int
    out_of_order: int
    requests: int
    rate_limited: int


async def _channel(sink: SlackSink, index: int) -> None:
    channel = Channel(ChannelRef("slack", "TBENCH", f"C{index:03d}"))
    for n in range(PER_CHANNEL):
        card = Card(title=f"alert {n}", severity=Severity.WARNING, text=f"SOX −{n}.0 %")
        key = f"bench:{index}:{n}"
        while True:
            await sink.pace(channel)
            outcome = await sink.send(channel, card, key)
            if isinstance(outcome, Delivered):
                break
            if isinstance(outcome, RetryAfter):
                await asyncio.sleep(outcome.seconds)
                continue
            raise RuntimeError(f"{channel.ref.key}: {outcome}")


async def fan_out(paced: bool, attempts_file: str | None = None) -> Result:
    """Send the 1,000 alerts through a fresh fake; the figures.

    With `attempts_file` the sink records each key in the attempt log of a SQLite store at
    that path first, as a production sink on a SQLite store does.
    """
    fake = SlackFake(rate_interval=INTERVAL)
    fake.add_workspace("TBENCH", TOKEN)
    await fake.start()
    config = SlackConfig(
        api_base=fake.url,
        channel_interval=INTERVAL if paced else 0.0,
        rate_limit_retries=2 if paced else 100,
        timeout=30.0,
    )
    store = await open_store(f"sqlite:///{attempts_file}") if attempts_file else None
    attempts = StoredAttempts(store.keyvalue("slack")) if store else None
    sink = SlackSink(config, static_token(TOKEN), attempts=attempts)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(_channel(sink, i) for i in range(CHANNELS)))
        seconds = time.perf_counter() - started
    finally:
        await sink.close()
        await fake.close()
        if store is not None:
            await store.close()
    lost = duplicated = out_of_order = 0
    for index in range(CHANNELS):
        keys = [p["metadata"]["event_payload"]["key"] for p in fake.posts(f"C{index:03d}")]
        wanted = [f"bench:{index}:{n}" for n in range(PER_CHANNEL)]
        lost += len(set(wanted) - set(keys))
        duplicated += len(keys) - len(set(keys))
        out_of_order += keys != wanted
    requests = len(fake.called("chat.postMessage"))
    return Result(seconds, lost, duplicated, out_of_order, requests, fake.rate_limited)


def _print(name: str, result: Result) -> None:
    ratio = result.seconds / MINIMUM
    share = 100 * result.rate_limited / max(result.requests, 1)
    print(f"{name}")
    print(f"  total time (s)                              {result.seconds:8.2f}")
    print(f"  theoretical minimum (s)                     {MINIMUM:8.2f}")
    print(f"  ratio, target ≤ 1.1                         {ratio:8.3f}")
    print(f"  lost / duplicated                           {result.lost:4d} / {result.duplicated}")
    print(f"  channels out of order (of {CHANNELS})            {result.out_of_order:8d}")
    answered = f"{result.requests:5d} / {result.rate_limited}"
    print(f"  requests / answered 429                     {answered}")
    print(f"  share answered 429, target < 1 %            {share:7.2f} %")


def main() -> None:
    """Run both fan-outs and print their figures."""
    logging.getLogger("slack_sdk").setLevel(logging.ERROR)
    print(f"{CHANNELS * PER_CHANNEL} alerts to {CHANNELS} channels, fake: 1 msg/s per channel")
    with tempfile.TemporaryDirectory() as directory:
        paced = asyncio.run(fan_out(True, str(Path(directory) / "sputnik.db")))
    _print("paced sink (per-channel pacer + 429 retry handler as the net)", paced)
    _print("retry handler alone (no pacer), for comparison", asyncio.run(fan_out(False)))


if __name__ == "__main__":
    main()
