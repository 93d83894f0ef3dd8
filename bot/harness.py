"""A test harness in the spirit of errbot's `testbot`: run commands end to end, get the Card,
and capture every message the bot delivers, in order.

harness = await Harness.start(core, "sqlite:///tmp/x.db")
card = await harness.run("/subscribe alerts deepseek")
received = await harness.replay_print("2025-01-27", "close")   # through the real outbox
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from bot.app import App, bootstrap
from bot.chat.console.sink import ConsoleSink, Delivery
from bot.chat.reply import Caller, reply
from bot.domain.cards import Card
from bot.domain.i18n import Locale
from bot.domain.market import Stage
from bot.domain.model import ChannelRef
from bot.ports import NewsDesk
from bot.services import Core, ManualClock, Services
from handlers.registry import CommandRegistry
from jobs.deliver import drain_outbox
from jobs.evaluate import ClaimReport, evaluate_and_claim
from jobs.render import CardRenderer
from jobs.rule_book import PrintTick, RuleBook

HARNESS_PLATFORM = "test"


@dataclass
class Harness:
    """One in-process channel driving the real handlers, store, claim, outbox and worker."""

    app: App
    clock: ManualClock
    channel: ChannelRef = field(
        default_factory=lambda: ChannelRef(HARNESS_PLATFORM, "local", "harness")
    )
    locale: Locale = "en"
    sink: ConsoleSink = field(default_factory=lambda: ConsoleSink(platform=HARNESS_PLATFORM))

    @classmethod
    async def start(
        cls,
        core: Core,
        store_url: str,
        locale: Locale = "en",
        *,
        now: datetime | None = None,
        news: NewsDesk | None = None,
    ) -> Harness:
        """Bootstrap the app on a manual clock, with the store at `store_url`; headlines
        only from the `news` desk handed in (none by default: a test never reaches Yahoo)."""
        clock = ManualClock(now or datetime(2025, 1, 2, tzinfo=UTC))
        # Prints are stepped by hand: the custom rules are re-read at every one.
        book = RuleBook(core.market.symbols, list(core.presets.values()))
        settings = core.settings
        if news is None:
            off = settings.news.model_copy(update={"enabled": False})
            settings = settings.model_copy(update={"news": off})
        app = await bootstrap(
            settings, core=core, store_url=store_url, clock=clock, book=book, env={}, news=news
        )
        return cls(app, clock, locale=locale)

    @property
    def services(self) -> Services:
        """The app's services."""
        return self.app.services

    @property
    def registry(self) -> CommandRegistry:
        """The app's commands."""
        return self.app.registry

    @property
    def book(self) -> RuleBook:
        """The app's rule book."""
        return self.app.book

    @property
    def renderer(self) -> CardRenderer:
        """The app's card renderer."""
        return self.app.renderer

    async def run(
        self,
        text: str,
        *,
        can_admin: bool = True,
        user_id: str = "tester",
        channel: ChannelRef | None = None,
    ) -> Card:
        """Run one command line as `user_id` (in this channel, or another one)."""
        caller = Caller(user_id, can_admin, self.locale)
        answer = await reply(self.services, self.registry, channel or self.channel, text, caller)
        return answer.card

    async def claim_print(self, session: str, stage: Stage) -> ClaimReport:
        """Evaluate and claim one of the history's real prints (`open` or `close`)."""
        market = self.services.core.market
        snapshot = market.snapshot(pd.Timestamp(session), stage)
        self.clock.set(snapshot.moment)
        tick = PrintTick.from_history(snapshot, stage)
        return await evaluate_and_claim(self.services, tick, book=self.book)

    async def deliver(self) -> list[Delivery]:
        """Run the delivery worker until the outbox has nothing due; what it delivered now."""
        before = len(self.sink.delivered)
        sinks = {HARNESS_PLATFORM: self.sink}
        await drain_outbox(self.app.store, sinks, self.renderer, "harness", clock=self.clock)
        return self.sink.delivered[before:]

    async def replay_print(self, session: str, stage: Stage) -> list[Delivery]:
        """Claim one real print and deliver: the messages channels received from it."""
        await self.claim_print(session, stage)
        return await self.deliver()

    async def replay_day(self, session: str) -> list[Delivery]:
        """The trading day that ends with `session`'s close, round the clock: each print of
        its tape (every market's opens and closes, the intraday bars) joined as live, then
        evaluated, claimed and delivered at its own minute on the manual clock; then the day's
        digest at its slot (06:30 Seoul as shipped) to the channels subscribed to one."""
        from bot.cli.replay_pipeline import day_rule_book, play_day
        from bot.feeds.replay_day import load_trading_day

        core = self.services.core
        day = load_trading_day(core, pd.Timestamp(session))
        book = day_rule_book(core, day)
        before = len(self.sink.delivered)
        await play_day(self.services, book, self.clock, day, self.deliver, {HARNESS_PLATFORM})
        return self.sink.delivered[before:]

    def received(self, channel: ChannelRef | None = None) -> list[Delivery]:
        """Every message a channel (this one by default) received so far, in order."""
        ref = channel or self.channel
        return [d for d in self.sink.delivered if d.channel.ref == ref]

    async def close(self) -> None:
        """Close the app."""
        await self.app.close()
