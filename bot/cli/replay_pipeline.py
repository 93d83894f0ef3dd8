"""`python -m bot replay`'s deliveries: the replayed trading day through the real outbound
pipeline, round the clock, as a subscribed channel receives it.

The app is bootstrapped on a manual clock with an in-memory store and one console channel
subscribed to every preset and to the digest. Each print of the day's tape (every market's
opens and closes, the intraday bars: Tokyo's close at 01:30 New York, Amsterdam's open, the
US pre-market, the open, the close) is joined as a live one is, then claimed by
`evaluate_and_claim` on a clock set to the print's time (the day's early-warning chain kept in
the store), queued in the outbox, leased by the delivery worker, rendered for the channel and
handed to the console sink; at the day's end (its 06:30 Seoul digest) the digest job queues
the day's digest, which lists the chain. What the sink received is what the replay shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

import pandas as pd

from bot.app import App, bootstrap
from bot.chat.console.sink import ConsoleSink, Delivery
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.domain.trading_day import TradingDay
from bot.feeds.replay_day import day_extended, day_feed, day_kind, load_trading_day
from bot.services import Core, ManualClock, Services
from jobs.deliver import drain_outbox
from jobs.digest import run_digests
from jobs.evaluate import evaluate_and_claim
from jobs.rule_book import PrintTick, RuleBook

REPLAY_CHANNEL = Channel(
    ChannelRef("console", "replay", "every-preset"), language="en", timezone="America/New_York"
)


def day_rule_book(core: Core, day: TradingDay) -> RuleBook:
    """The presets compiled for a replayed day: outside the session an index's rules read its
    stand-in's prints (SMH for SOX on 2025-01-27). Stepped by hand, so custom rules are
    re-read at every print."""
    stand_ins = day_extended(core, day)
    return RuleBook(core.market.symbols, list(core.presets.values()), stand_ins=stand_ins)


async def play_day(
    services: Services,
    book: RuleBook,
    clock: ManualClock,
    day: TradingDay,
    drain: Callable[[], Awaitable[object]],
    platforms: Collection[str],
    replay_of: str | None = None,
) -> None:
    """Each print of `day`'s tape at its own minute on `clock`: joined as live, evaluated
    and claimed, then `drain()` delivers what it queued; at the day's end its digest to the
    channels on `platforms` (`replay_of`: the banner of a replay)."""
    live = day_feed(services.core, day, clock)
    for moment in day.moments():
        clock.set(moment)
        tick = await live.poll_tick(day_kind(day, moment), force=True)
        if tick is None:
            continue
        await evaluate_and_claim(services, PrintTick.from_feed(tick), book=book)
        await drain()
    clock.set(day.end)  # the day's digest, at its slot
    digest = services.core.settings.digest
    await run_digests(services, day.end, digest, replay_of=replay_of, platforms=platforms)
    await drain()


async def replay_deliveries(
    core: Core, session: pd.Timestamp, channels: Sequence[Channel] = (REPLAY_CHANNEL,)
) -> list[Delivery]:
    """The messages `channels` (each subscribed to every preset and to the digest at its
    configured time) receive during the trading day that ends with `session`'s close."""
    # An in-memory store: the replay keeps nothing. Prints are stepped by hand: the custom
    # rules are re-read at every one.
    day = load_trading_day(core, session)
    book = day_rule_book(core, day)
    clock = ManualClock(day.start)
    app = await bootstrap(
        core.settings,
        core=core,
        store_url="memory://",
        clock=clock,
        replay=session,
        book=book,
        env={},
    )
    try:
        return await _run(app, clock, day, channels)
    finally:
        await app.close()


async def _run(
    app: App, clock: ManualClock, day: TradingDay, channels: Sequence[Channel]
) -> list[Delivery]:
    store, digest = app.store, app.core.settings.digest
    for channel in channels:
        await store.upsert_channel(channel)
        for preset in app.core.presets:
            await store.add_subscription(Subscription(channel.ref, preset))
        daily = Subscription(channel.ref, "digest", kind="digest", digest_zone=digest.default_zone)
        await store.add_subscription(daily)
    sink = ConsoleSink()

    async def drain() -> None:
        await drain_outbox(store, {sink.platform: sink}, app.renderer, "replay", clock=clock)

    replay_of = day.session.date().isoformat()
    await play_day(app.services, app.book, clock, day, drain, {sink.platform}, replay_of)
    return sink.delivered
