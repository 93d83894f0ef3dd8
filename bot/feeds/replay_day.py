"""A trading day replayed round the clock: the tape's prints through the live feed's joins,
the presets evaluated at every print, and the alerts as a timeline with its first warning.

`load_trading_day` builds the day (`bot.domain.trading_day`) from the shipped history, the
intraday bars (`[data] intraday_dir`) and `[replay] stand_ins`; it ends at the default
digest after the session's close. `walk_day` steps a manual clock from print to print
(discrete events: nothing sleeps) through a `LiveFeed` over the `ReplayFeed`, so every
snapshot is joined exactly as a live one is; the prints that fire or escalate a preset (in
the sessions it may fire in) become the timeline. `run --replay` plays the same day through
the running bot: `replay_clock` starts its virtual clock at the day's start, with the
stretches in which none of the day's markets trades (`idle_stretches`) costing no real time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.intraday import IntradayBook, load_intraday
from bot.domain.markets import Market, market_for_symbol, markets
from bot.domain.model import PrintKind
from bot.domain.rules.evaluate import CompiledRules, RuleOutcome
from bot.domain.rules.presets import Rule
from bot.domain.snapshot import Snapshot
from bot.domain.trading_day import TradingDay, build_trading_day, digest_after
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import LiveFeed, extended_proxies
from bot.feeds.live_market import LiveMarket
from bot.feeds.replay_feed import ReplayFeed, VirtualClock
from bot.services import Core, ManualClock

_SESSION_OF_KIND = {"pre": "pre", "open": "regular", "intraday": "regular", "close": "regular"}


def load_day_intraday(core: Core) -> IntradayBook:
    """The shipped intraday bars (`[data] intraday_dir`), read once for any number of days."""
    return load_intraday(
        core.settings.data.intraday_dir, lambda symbol: market_for_symbol(symbol).zone
    )


def load_trading_day(
    core: Core, session: pd.Timestamp, intraday: IntradayBook | None = None
) -> TradingDay:
    """The trading day that ends with `session`'s close, to the default digest after it.

    `intraday`: the bars already read (`load_day_intraday`) when walking many days."""
    settings = core.settings
    book = markets()
    if intraday is None:
        intraday = load_day_intraday(core)
    close = book.default.close_of(session)
    end = digest_after(close, settings.digest.default_time, settings.digest.default_zone)
    return build_trading_day(
        core.market, intraday, book, session, end, stand_ins=settings.replay.stand_ins
    )


def idle_stretches(day: TradingDay, closing_delay: timedelta) -> list[tuple[datetime, datetime]]:
    """The stretches of `day` in which none of its markets trades (from a pre-market's start
    to the closing check after its close) and its digest is not due: the weekend before a
    Monday, the hours between New York's previous close and the next reopen."""
    busy = [(day.end, day.end + _SLACK)]
    for item in day.markets:
        if item.opens is None or item.closes is None:
            continue
        busy.append(
            (_pre_market_start(item.market, item.opens), item.closes + closing_delay + _SLACK)
        )
    idle: list[tuple[datetime, datetime]] = []
    reached = day.start
    for start, end in sorted(busy):
        if start > reached:
            idle.append((reached, start))
        reached = max(reached, end)
    return idle


_SLACK = timedelta(minutes=2)
"""After a closing check or the digest: the minutes its slot may take to run."""


def _pre_market_start(market: Market, opens: datetime) -> datetime:
    """Where the market's pre-market window starts on the day of `opens` (else `opens`)."""
    if market.pre_market is None:
        return opens
    zone = ZoneInfo(market.zone)
    local = opens.astimezone(zone)
    start = datetime.combine(local.date(), market.pre_market[0], tzinfo=zone)
    return min(start, opens).astimezone(opens.tzinfo)


def replay_clock(
    core: Core, session: pd.Timestamp, speed: float, *, real_start: float | None = None
) -> tuple[TradingDay, VirtualClock]:
    """`run --replay`'s trading day and its virtual clock: from the previous close of the
    default market, the idle stretches costing no real time."""
    day = load_trading_day(core, session)
    delay = timedelta(minutes=core.settings.scheduler.closing_check_delay_minutes)
    idle = idle_stretches(day, delay)
    return day, VirtualClock(day.start, speed, real_start=real_start, idle=idle)


def day_extended(core: Core, day: TradingDay) -> dict[str, str]:
    """The stand-ins outside the session: the configured extended proxies, and for an
    index whose chip ETF ships intraday bars that day, that ETF."""
    return {**extended_proxies(core.settings.aliases), **day.stand_ins}


@dataclass(frozen=True)
class DayAlert:
    """A preset that fired, or escalated, at one print of the day."""

    at: datetime
    market: Market
    kind: PrintKind
    outcome: RuleOutcome
    escalated: bool
    undecided: tuple[RuleOutcome, ...]
    """Presets that could not be decided at this print (an input has no print yet)."""
    opens: datetime
    """The default market's open that day."""

    @property
    def lead(self) -> timedelta:
        """How long before the default market's open the alert came (negative: after)."""
        return self.opens - self.at


@dataclass(frozen=True)
class DayReplay:
    """The timeline of one trading day."""

    day: TradingDay
    alerts: tuple[DayAlert, ...]
    moments: int

    @property
    def first_warning(self) -> DayAlert | None:
        """The day's first alert."""
        return self.alerts[0] if self.alerts else None


def day_feed(core: Core, day: TradingDay, clock: ManualClock) -> LiveFeed:
    """The live feed over `day`'s tape on `clock`: every print joined as a live one is (a
    replay's last print of a symbol stays its last for the whole day)."""
    stale = (day.end - day.start).total_seconds()  # a replay's last print stays its last
    feed_settings = core.settings.feed.model_copy(
        update={"stale_seconds": stale, "stale_extended_seconds": stale}
    )
    symbols = list(dict.fromkeys([*core.settings.watched_symbols(), *day.symbols]))
    return LiveFeed(
        LiveMarket(core.market, BackfillCache(core.settings.feed.cache_path)),
        symbols,
        ReplayFeed(core.market, clock, day),
        stream=None,
        clock=clock,
        settings=feed_settings,
        extended=day_extended(core, day),
        watch_session=day.session,
    )


def day_kind(day: TradingDay, moment: datetime) -> PrintKind | None:
    """The default market's open or close print at `moment` (None: another print)."""
    closes = markets().default.close_of(day.session)
    return "open" if moment == day.opens else "close" if moment == closes else None


async def walk_day(core: Core, day: TradingDay, rules: Sequence[Rule]) -> DayReplay:
    """Every print of `day` through the live joins; each preset's firings and escalations."""
    clock = ManualClock(day.start)
    live = day_feed(core, day, clock)
    compiled = CompiledRules(list(rules))
    grace = timedelta(minutes=core.settings.scheduler.closing_check_delay_minutes)
    best: dict[str, int] = {}
    alerts: list[DayAlert] = []
    moments = day.moments()
    for moment in moments:
        clock.set(moment)
        tick = await live.poll_tick(day_kind(day, moment), force=True)
        if tick is None:
            continue
        session = _SESSION_OF_KIND.get(tick.kind, "post")
        allowed = [
            outcome
            for outcome in compiled.evaluate(tick.snapshot)
            if _judged_in(outcome, moment, session, grace) in outcome.rule.sessions
        ]
        undecided = tuple(o for o in allowed if o.truth is None and _reads(o, tick.changed))
        for outcome in allowed:
            if not outcome.fired or outcome.tier is None:
                continue
            rank, rule_id = outcome.tier.rank, outcome.rule.id
            if rule_id in best and rank <= best[rule_id]:
                continue
            escalated = rule_id in best
            best[rule_id] = rank
            alerts.append(
                DayAlert(
                    moment,
                    _market_of(outcome, tick.changed, tick.snapshot),
                    tick.kind,
                    outcome,
                    escalated,
                    undecided,
                    day.opens,
                )
            )
    return DayReplay(day, tuple(alerts), len(moments))


def _judged_in(outcome: RuleOutcome, moment: datetime, session: str, grace: timedelta) -> str:
    """The session a rule is judged in: its own market's phase (a Tokyo rule at Tokyo's
    close print), or the replayed New York day's (`session`) for the default market's."""
    phase = markets().judged_phase(outcome.rule, moment, grace)
    return session if phase is None else phase


def _reads(outcome: RuleOutcome, changed: frozenset[str]) -> bool:
    return any(item.symbol in changed for item in outcome.inputs)


def _market_of(outcome: RuleOutcome, changed: frozenset[str], snapshot: Snapshot) -> Market:
    """The market whose print fired the rule: of the inputs that changed, the first."""
    for item in outcome.inputs:
        if item.symbol in changed:
            return market_for_symbol(item.symbol)
    return market_for_symbol(outcome.inputs[0].symbol) if outcome.inputs else markets().default
