"""`python -m bot replay`'s deliveries: a replayed session through the real outbound pipeline,
as a subscribed channel receives it.

The app is bootstrapped on a manual clock with a temporary store and one console channel
subscribed to every preset; each of the session's
prints (open, close) is claimed by `evaluate_and_claim` on a clock set to the print's time,
queued in the outbox, leased by the delivery worker, rendered for the channel and handed to
the console sink. What the sink received is what the replay shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.app import App, bootstrap
from bot.chat.console.sink import ConsoleSink, Delivery
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.domain.replay import Replay
from bot.services import Core, ManualClock
from jobs.deliver import drain_outbox
from jobs.evaluate import PrintTick, RuleBook, evaluate_and_claim

REPLAY_CHANNEL = Channel(
    ChannelRef("console", "replay", "every-preset"), language="en", timezone="America/New_York"
)


async def replay_deliveries(
    core: Core, replay: Replay, channels: Sequence[Channel] = (REPLAY_CHANNEL,)
) -> list[Delivery]:
    """The messages `channels` (each subscribed to every preset) receive during `replay`."""
    # An in-memory store: the replay keeps nothing. Prints are stepped by hand: the custom
    # rules are re-read at every one.
    book = RuleBook(core.market.symbols, list(core.presets.values()))
    clock = ManualClock(replay.steps[0].moment)
    app = await bootstrap(
        core.settings,
        core=core,
        store_url="memory://",
        clock=clock,
        replay=replay.session,
        book=book,
        env={},
    )
    try:
        return await _run(app, clock, replay, channels)
    finally:
        await app.close()


async def _run(
    app: App, clock: ManualClock, replay: Replay, channels: Sequence[Channel]
) -> list[Delivery]:
    store = app.store
    for channel in channels:
        await store.upsert_channel(channel)
        for preset in app.core.presets:
            await store.add_subscription(Subscription(channel.ref, preset))
    sink = ConsoleSink()
    for step in replay.steps[1:]:  # the previous close belongs to the previous session
        clock.set(step.moment)
        tick = PrintTick.from_history(step.snapshot, step.stage)
        await evaluate_and_claim(app.services, tick, book=app.book)
        await drain_outbox(store, {sink.platform: sink}, app.renderer, "replay", clock=clock)
    return sink.delivered
