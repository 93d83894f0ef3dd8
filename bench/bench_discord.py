"""Discord delivery: the paced sink through discord.py against a fake that enforces the limits.

Run: `make bench` or `.venv/bin/python -m bench discord` (about 70 s). The fake on loopback
enforces Discord's global 50 requests/s (sliding second, global 429s) and 5 messages per
5 s per channel (a bucket window from its first message, `X-RateLimit-*` headers on
successes, real 429s with `Via` and a JSON `retry_after`). Two fan-outs:

(a) 1,000 alerts to 1,000 channels — bound by the global limit;
(b) 50 alerts to each of 20 channels (1,000 messages) — bound by the channel windows.

Each prints its total time against the theoretical minimum (target ≤ 1.1×), lost and
duplicated messages (a POST repeating an accepted nonce counts, even though the fake drops
it) and the share of requests answered 429 (target < 1 %). Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from bot.chat.discord.app import DiscordSettings, apply_endpoints, make_client
from bot.chat.discord.pacer import DiscordPacer, PacerLimits
from bot.chat.discord.sink import DiscordSink
from bot.domain.cards import Card, CardField, Footer, Severity
from bot.domain.model import Channel, ChannelRef, idempotency_key
from bot.ports import Delivered, Gone, RetryAfter
from tests.fakes.discord_fake import FakeDiscord, Limits

GLOBAL_PER_SECOND = 50
CHANNEL_MESSAGES = 5
CHANNEL_WINDOW = 5.0
CONCURRENCY = 100
TOKEN = "MTAxMDEwMTAxMDEwMTAxMDEw.GabcDE.benchbenchbenchbenchbenchbench1"
CARD = Card(
    title="DeepSeek shock",
    severity=Severity.CRITICAL,
    fields=(
        CardField("SOX", "−9.15 %"),
        CardField("NVDA", "−16.97 %"),
        CardField("DJI", "+0.65 %"),
    ),
    text="Chips crashed while the Dow rose.",
    footer=Footer("shipped history", None, "Not investment advice"),
)


@dataclass(frozen=True)
class Result:
    """One scenario's figures."""

    name: str
    messages: int
    seconds: float
    """From the first send to the last message accepted by the fake."""
    returned: float
    """From the first send to the last `send` returning (discord.py sleeps out an
    exhausted bucket before the request that exhausted it returns)."""
    minimum: float
    lost: int
    duplicated: int
    requests: int
    too_many: int

    def line(self) -> str:
        share = self.too_many / self.requests if self.requests else 0.0
        return (
            f"{self.name}: {self.messages} messages in {self.seconds:.2f} s"
            f" (minimum {self.minimum:.2f} s, {self.seconds / self.minimum:.3f}×;"
            f" last send returned at {self.returned:.2f} s),"
            f" lost {self.lost}, duplicated {self.duplicated},"
            f" 429s {self.too_many}/{self.requests} = {share:.2%}"
        )


def minimum_seconds(order: list[str]) -> float:
    """When the last message can be sent at the earliest: each message in `order` (channel
    ids) sent the moment both windows allow (50 in any second, 5 in any 5 s per channel)."""
    sent: list[float] = []
    by_channel: dict[str, list[float]] = {}
    for channel in order:
        mine = by_channel.setdefault(channel, [])
        at = sent[-1] if sent else 0.0
        if len(sent) >= GLOBAL_PER_SECOND:
            at = max(at, sent[-GLOBAL_PER_SECOND] + 1.0)
        if len(mine) >= CHANNEL_MESSAGES:
            at = max(at, mine[-CHANNEL_MESSAGES] + CHANNEL_WINDOW)
        sent.append(at)
        mine.append(at)
    return sent[-1]


async def deliver_all(sink: DiscordSink, queue: deque[tuple[Channel, str]]) -> int:
    """Drain `queue` with CONCURRENCY workers the way the delivery worker does; deliveries."""
    delivered = 0

    async def worker() -> None:
        nonlocal delivered
        while queue:
            channel, key = queue.popleft()
            await sink.pace(channel)
            outcome = await sink.send(channel, CARD, key)
            if isinstance(outcome, Delivered):
                delivered += 1
            elif isinstance(outcome, RetryAfter):
                await asyncio.sleep(outcome.seconds)
                queue.append((channel, key))
            elif not isinstance(outcome, Gone):
                queue.append((channel, key))

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return delivered


async def scenario(name: str, channels: int, alerts: int) -> Result:
    """Fan `alerts` alerts out to `channels` channels (alert by alert, as they fire)."""
    fake = FakeDiscord(
        Limits(GLOBAL_PER_SECOND, CHANNEL_MESSAGES, CHANNEL_WINDOW), clock=time.monotonic
    )
    await fake.start()
    config = DiscordSettings(
        token=TOKEN, gateway=False, api_base=fake.api_base, gateway_url=fake.gateway_url
    )
    apply_endpoints(config)
    pacer = DiscordPacer(PacerLimits())
    client = make_client(config, pacer)
    await client.login(TOKEN)
    await asyncio.sleep(1.1)  # the fan-out starts on a quiet budget (the login's requests count)
    sink = DiscordSink(client, pacer)
    refs = [ChannelRef("discord", "1", str(10_000 + n)) for n in range(channels)]
    queue = deque(
        (Channel(ref), idempotency_key(f"alert{a}", ref)) for a in range(alerts) for ref in refs
    )
    fake.requests.clear()
    fake.too_many = 0
    order = [channel.ref.channel_id for channel, _ in queue]
    started = time.monotonic()
    await deliver_all(sink, queue)
    returned = time.monotonic() - started
    await client.close()
    await fake.close()
    accepted = {m["nonce"] for sent in fake.messages.values() for m in sent}
    expected = channels * alerts
    posts = [r for r in fake.requests if r.path.endswith("/messages")]
    last_accepted = max(r.at for r in posts if r.status == 200) - started
    return Result(
        name,
        expected,
        last_accepted,
        returned,
        minimum_seconds(order),
        expected - len(accepted),
        fake.duplicates,
        len(posts),
        sum(1 for r in posts if r.status == 429),
    )


async def run() -> list[Result]:
    """Both scenarios, one after the other."""
    return [
        await scenario("(a) 1,000 alerts → 1,000 channels", 1000, 1),
        await scenario("(b) 50 alerts → each of 20 channels", 20, 50),
    ]


def main() -> None:
    """Print the figures."""
    logging.getLogger("discord").setLevel(logging.ERROR)  # 429 retries are counted, not logged
    print(
        f"fake Discord: {GLOBAL_PER_SECOND} requests/s global, {CHANNEL_MESSAGES} messages"
        f" / {CHANNEL_WINDOW:g} s per channel; pacer {PacerLimits()}; {CONCURRENCY} senders"
    )
    for result in asyncio.run(run()):
        print(result.line(), flush=True)
