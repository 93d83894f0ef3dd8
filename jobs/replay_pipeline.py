"""A replayed session through the real outbound pipeline, as a subscribed channel receives it.

A temporary store with one console channel subscribed to every preset; each of the session's
prints (open, close) is claimed by `evaluate_and_claim` on a clock set to the print's time,
queued in the outbox, leased by the delivery worker, rendered for the channel and handed to
the console sink. What the sink received is what the replay shows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.app import build_services
from bot.chat.console_sink import ConsoleSink, Delivery
from bot.domain.replay import Replay
from bot.services import Core, ManualClock
from bot.stores import open_store
from bot.stores.port import Channel, ChannelRef, Store, Subscription
from jobs.deliver import drain_outbox
from jobs.evaluate import PrintTick, RuleBook, evaluate_and_claim
from jobs.render import CardRenderer

REPLAY_CHANNEL = Channel(
    ChannelRef("console", "replay", "every-preset"), language="en", timezone="America/New_York"
)


async def replay_deliveries(
    core: Core, replay: Replay, channels: Sequence[Channel] = (REPLAY_CHANNEL,)
) -> list[Delivery]:
    """The messages `channels` (each subscribed to every preset) receive during `replay`."""
    with tempfile.TemporaryDirectory(prefix="sputnik-replay-") as directory:
        store = await open_store(f"sqlite:///{Path(directory) / 'replay.db'}")
        try:
            return await _run(core, store, replay, channels)
        finally:
            await store.close()


async def _run(
    core: Core, opened: Store, replay: Replay, channels: Sequence[Channel]
) -> list[Delivery]:
    clock = ManualClock(replay.steps[0].moment)
    services = build_services(core, opened, clock=clock)
    for channel in channels:
        await opened.upsert_channel(channel)
        for preset in core.presets:
            await opened.add_subscription(Subscription(channel.ref, preset))
    sink = ConsoleSink()
    renderer = CardRenderer(services, replay_of=replay.session.date())
    book = RuleBook(core.market.symbols, list(core.presets.values()))
    for step in replay.steps[1:]:  # the previous close belongs to the previous session
        clock.set(step.moment)
        tick = PrintTick.from_history(step.snapshot, step.stage)
        await evaluate_and_claim(services, tick, book=book)
        await drain_outbox(opened, {sink.platform: sink}, renderer, "replay", clock=clock)
    return sink.delivered
