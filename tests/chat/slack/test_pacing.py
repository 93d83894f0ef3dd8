"""The per-key pacer and the window budget, on a virtual clock (no sleeping)."""

from __future__ import annotations

import asyncio

from bot.chat.pacing import KeyedPacer, WindowBudget


class VirtualClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_sends_in_one_channel_are_one_interval_apart_after_the_previous_ended() -> None:
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    starts: list[float] = []
    for _ in range(3):
        await pacer.acquire("C1")
        starts.append(clock.now)
        clock.now += 0.25  # the send takes a quarter second
        pacer.release("C1")
    assert starts == [0.0, 1.25, 2.5]


async def test_concurrent_sends_in_one_channel_keep_the_order_they_asked_in() -> None:
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def send(n: int) -> None:
        await pacer.acquire("C1")
        order.append(n)
        await asyncio.sleep(0)
        pacer.release("C1")

    await asyncio.gather(*(send(n) for n in range(6)))
    assert order == list(range(6))


async def test_other_channels_do_not_wait_for_a_busy_one() -> None:
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    await pacer.acquire("C1")
    pacer.release("C1")
    await pacer.acquire("C2")
    assert clock.now == 0.0


async def test_retry_after_pushes_the_channels_next_send_back() -> None:
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    await pacer.acquire("C1")
    pacer.defer("C1", 5.0)
    pacer.release("C1")
    await pacer.acquire("C1")
    assert clock.now == 5.0


async def test_a_holder_whose_send_never_starts_loses_the_channel_after_stale_after() -> None:
    pacer = KeyedPacer(0.0, stale_after=0.01)
    await pacer.acquire("C1")  # its send never comes (the item was skipped)
    await asyncio.wait_for(pacer.acquire("C1"), 2.0)


async def test_a_send_in_progress_keeps_the_channel_however_long_it_takes() -> None:
    pacer = KeyedPacer(0.0, stale_after=0.01)
    await pacer.acquire("C1")
    pacer.begin("C1")  # e.g. slack_sdk waiting out a Retry-After
    waiting = asyncio.create_task(pacer.acquire("C1"))
    await asyncio.sleep(0)
    assert pacer._lanes["C1"].watchdog is None  # nothing will take the key from the sender
    assert not waiting.done()
    pacer.release("C1")
    await asyncio.wait_for(waiting, 2.0)


def test_window_budget_refuses_past_its_limit_and_says_when_it_frees() -> None:
    clock = VirtualClock()
    budget = WindowBudget(2, 60.0, clock=clock)
    assert budget.try_use("T1") == 0.0
    clock.now = 10.0
    assert budget.try_use("T1") == 0.0
    assert budget.try_use("T1") == 50.0
    assert budget.try_use("T2") == 0.0
    clock.now = 61.0
    assert budget.try_use("T1") == 0.0
