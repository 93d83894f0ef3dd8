"""The Discord pacer on an injected clock: no sleeping, no wall-clock asserts."""

from __future__ import annotations

import asyncio
import itertools
from bisect import bisect_left, bisect_right

from bot.chat.discord.pacer import DiscordPacer, PacerLimits


class FakeTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of grants inside any half-open window of `window` seconds."""
    ordered = sorted(times)
    return max(
        bisect_right(ordered, start + window - 1e-9) - bisect_left(ordered, start)
        for start in ordered
    )


async def grant_all(pacer: DiscordPacer, time: FakeTime, keys: list[str]) -> dict[str, list[float]]:
    granted: dict[str, list[float]] = {}

    async def one(key: str) -> None:
        await pacer.acquire(key)
        granted.setdefault(key, []).append(time.now)

    await asyncio.gather(*(one(key) for key in keys))
    return granted


async def test_a_fan_out_to_many_channels_holds_fifty_requests_per_second() -> None:
    time = FakeTime()
    pacer = DiscordPacer(PacerLimits(), clock=time.clock, sleep=time.sleep)
    granted = await grant_all(pacer, time, [str(n) for n in range(500)])
    times = [t for ts in granted.values() for t in ts]
    assert len(times) == 500
    assert most_in_any_window(times, 1.0) <= 50
    assert most_in_any_window(times, 1.05) <= 50  # the margin holds too
    span = max(times) - min(times)
    # Ten windows of fifty: the last starts after nine windows of 1.05 s, spaced 5 ms.
    assert span <= 9 * 1.05 + 49 * 0.005 + 1e-6


async def test_one_channel_gets_at_most_five_messages_in_any_five_seconds() -> None:
    time = FakeTime()
    pacer = DiscordPacer(PacerLimits(margin=0.1), clock=time.clock, sleep=time.sleep)
    granted = await grant_all(pacer, time, ["7"] * 23)
    times = granted["7"]
    assert most_in_any_window(times, 5.0) == 5
    assert times == sorted(times)
    # 23 messages: bursts of five every 5.1 s, the last burst starting after 4 windows.
    assert max(times) - min(times) <= 4 * 5.1 + 0.1


async def test_channels_wait_for_their_own_window_but_not_for_each_other() -> None:
    time = FakeTime()
    pacer = DiscordPacer(PacerLimits(), clock=time.clock, sleep=time.sleep)
    granted = await grant_all(pacer, time, ["a"] * 6 + ["b"])
    assert granted["b"][0] - 1000.0 < 1.0  # b is not stuck behind a's sixth message
    assert granted["a"][5] - granted["a"][0] >= 5.0


async def test_a_burst_is_spread_by_the_global_spacing() -> None:
    time = FakeTime()
    pacer = DiscordPacer(PacerLimits(global_spacing=0.02), clock=time.clock, sleep=time.sleep)
    granted = await grant_all(pacer, time, [str(n) for n in range(20)])
    times = sorted(t for ts in granted.values() for t in ts)
    assert all(b - a >= 0.02 - 1e-9 for a, b in itertools.pairwise(times))


async def test_idle_channels_are_forgotten_past_the_channel_cap() -> None:
    time = FakeTime()
    pacer = DiscordPacer(clock=time.clock, sleep=time.sleep, max_channels=10)
    for n in range(10):
        await pacer.acquire(str(n))
    time.now += 10.0
    await pacer.acquire("new")
    assert len(pacer._channels) == 1


async def test_requests_the_pacer_did_not_grant_take_slots_of_the_global_window() -> None:
    time = FakeTime()
    pacer = DiscordPacer(clock=time.clock, sleep=time.sleep)
    for _ in range(50):
        pacer.record_unpaced()  # e.g. a login and discord.py's retries
    await pacer.acquire("1")
    assert time.now - 1000.0 >= 1.05 - 1e-9
