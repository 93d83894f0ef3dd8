"""The live feed: stream first, polls as the safety net, guards on every print.

While the stream is healthy a safety poll runs every `safety_poll_seconds`; after
`stream_gap_seconds` of silence while the market trades, polling takes over at every
poll tick (and the log says when and why), until the stream prints again. Each batch is
checked by the guards and turned into a `FeedTick`: a joined live snapshot, the symbols
whose price changed, and the symbols that are stale (rules reading them do not fire).
Trading-time decisions read the injected `Clock`; the rate-limit back-off uses real time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from bot.domain.markets import market_for_symbol, markets, primary_market
from bot.domain.model import PrintKind
from bot.domain.price_metrics import Unavailable
from bot.domain.snapshot import Quote, Snapshot
from bot.feeds.backfill import backfill
from bot.feeds.guards import Backoff, FeedGuards
from bot.feeds.live_market import MOVE_METRICS, LiveMarket
from bot.ports import Clock, DailyBars, FeedTick, PriceFeed, Print, PrintBatch, clock_speed
from bot.settings import Alias, FeedSettings

log = logging.getLogger(__name__)


def extended_proxies(aliases: Mapping[str, Alias]) -> dict[str, str]:
    """`[aliases]` → {index symbol: its `extended_proxy`} (SOX → SOXX, DJI → DIA, ...)."""
    return {a.symbol: a.extended_proxy for a in aliases.values() if a.extended_proxy}


TickHandler = Callable[[FeedTick], Awaitable[None]]


@dataclass
class _State:
    prints: dict[str, Print] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    stale: dict[str, str] = field(default_factory=dict)
    last_stream: datetime | None = None
    last_poll: datetime | None = None
    polling: bool = False
    """True while polls stand in for a silent stream."""


class LiveFeed:
    """Owns the feeds' state; `on_batch` for pushes, `poll_tick` for the scheduler."""

    def __init__(
        self,
        market: LiveMarket,
        symbols: Sequence[str],
        poll: PriceFeed,
        *,
        stream: PriceFeed | None,
        clock: Clock,
        settings: FeedSettings,
        extended: Mapping[str, str] | None = None,
        on_tick: TickHandler | None = None,
        watch_session: pd.Timestamp | None = None,
    ) -> None:
        self.market = market
        self.watch_session = watch_session
        """A replay's session: every print of its trading day is watched for it (live: the
        default market's reference session at each moment)."""
        self.symbols = list(dict.fromkeys(symbols))
        self.poll_feed = poll
        self.stream_feed = stream
        self.clock = clock
        self.settings = settings
        self.extended = dict(extended or {})
        self.on_tick = on_tick
        # A print's age limit is real seconds: on an accelerated replay clock it is scaled,
        # or the loop's lag (minutes of virtual time at a high speed) would stale the open.
        speed = clock_speed(clock)
        self.guards = FeedGuards(settings.stale_seconds, settings.stale_extended_seconds, speed)
        self.backoff = Backoff(
            settings.rate_limit_backoff_seconds, settings.rate_limit_backoff_max_seconds
        )
        self.state = _State()
        self.polls = 0
        self.on_poll: Callable[[str], None] | None = None
        """Called with the reason of every poll made (metrics)."""
        self.on_rate_limit: Callable[[], None] | None = None
        """Called on every rate limit seen (metrics)."""
        self._generation = 0
        """Bumped by opening and closing checks: every quote is joined afresh."""
        self._last_sweep: datetime | None = None
        self._dirty: set[str] = set()
        self._view: dict[str, Quote | Unavailable] = {}
        self._view_key: tuple[object, ...] | None = None

    # ------------------------------------------------------------ decisions

    def poll_reason(self, now: datetime) -> str | None:
        """Why a poll tick at `now` should poll ("no stream", "stream gap", "safety")."""
        if self.backoff.blocked():
            return None
        if self.stream_feed is None:
            return "no stream"
        state = self.state
        silent = (
            state.last_stream is None
            or (now - state.last_stream).total_seconds() >= self.settings.stream_gap_seconds
        )
        if silent:
            if not state.polling:
                state.polling = True
                heard = state.last_stream.isoformat() if state.last_stream else "never"
                log.warning(
                    "feed mode=poll reason=stream_gap silent_for>=%ss last_stream=%s",
                    int(self.settings.stream_gap_seconds),
                    heard,
                )
            return "stream gap"
        if state.polling:
            state.polling = False
            log.warning("feed mode=stream reason=stream_prints_again")
        last = state.last_poll
        if last is None or (now - last).total_seconds() >= self.settings.safety_poll_seconds:
            return "safety"
        return None

    # ------------------------------------------------------------ inputs

    async def poll_tick(
        self,
        kind: PrintKind | None = None,
        *,
        force: bool = False,
        symbols: Sequence[str] | None = None,
    ) -> FeedTick | None:
        """The scheduler's poll: fetch when due (or `force`d), then evaluate the batch.

        `symbols` (those of the markets that trade now; default: every one) is topped up
        with the symbols no poll has answered yet, so a closed market's last print is read
        once and then no more until it trades again."""
        now = self.clock.now()
        reason = "forced" if force and not self.backoff.blocked() else self.poll_reason(now)
        if reason is None:
            return None
        wanted = self.symbols
        if symbols is not None:
            seen = self.state.prints.keys() | self.state.missing.keys()
            wanted = list(dict.fromkeys([*symbols, *(s for s in self.symbols if s not in seen)]))
        self.state.last_poll = now
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll(reason)
        level = logging.DEBUG if reason == "no stream" else logging.INFO
        log.log(level, "feed poll reason=%s symbols=%d", reason.replace(" ", "_"), len(wanted))
        batch = await self.poll_feed.fetch(wanted)
        return await self.apply(batch, kind)

    async def catch_up(self, bars: DailyBars, symbols: Sequence[str] | None = None) -> None:
        """Append the closed sessions the history lacks (all watched symbols by default)."""
        wanted = self.symbols if symbols is None else list(symbols)
        added = await backfill(
            bars, self.market.cache, self.market.last_known(wanted), self.clock.now()
        )
        self.market.invalidate(added)

    async def close_tick(
        self, bars: DailyBars, session: pd.Timestamp, symbols: Sequence[str], now: datetime
    ) -> FeedTick | None:
        """Append the session's daily bars, then evaluate its official closes as a "close"
        tick (the official bar, not the last 1-minute print)."""
        added = await backfill(bars, self.market.cache, self.market.last_known(symbols), now)
        self.market.invalidate(added)
        prints: dict[str, Print] = {}
        for symbol in symbols:
            close_at = market_for_symbol(symbol).close_of(session)
            bar = self.market.daily_print(symbol, session, close_at, bars.bar_source)
            if bar is not None:
                prints[symbol] = bar
        log.info("closing_check session=%s closes=%d", session.date(), len(prints))
        if not prints:
            return None
        return await self.apply(PrintBatch(prints, now, bars.bar_source), "close")

    async def on_stream_batch(self, batch: PrintBatch) -> None:
        """The stream's handler: note it is alive, then evaluate."""
        self.state.last_stream = self.clock.now()
        await self.apply(batch, None)

    async def run_stream(self, stop: asyncio.Event) -> None:
        """Keep the stream running until `stop` (it reconnects on its own)."""
        if self.stream_feed is not None:
            await self.stream_feed.stream(self.symbols, self.on_stream_batch, stop)

    async def apply(self, batch: PrintBatch, kind: PrintKind | None) -> FeedTick | None:
        """Guard a batch, merge it into the state and hand the tick on."""
        now = self.clock.now()
        state = self.state
        if kind is not None:
            self._generation += 1
        if batch.rate_limited:
            if self.on_rate_limit is not None:
                self.on_rate_limit()
            delay = self.backoff.hit()
            log.warning(
                "feed rate_limited source=%s error=YFRateLimitError backoff_s=%.0f "
                "(last good prints kept, marked stale)",
                batch.source,
                delay,
            )
            state.stale = {symbol: "rate limited: last good print" for symbol in state.prints}
            self._dirty.update(state.prints)
            return None
        self.backoff.reset()
        self.guards.note_missing(batch.missing)
        for symbol, code in batch.missing.items():
            if symbol not in state.prints:
                state.missing[symbol] = code
                self._dirty.add(symbol)
        changed: set[str] = set()
        for symbol, latest in batch.prints.items():
            previous = state.prints.get(symbol)
            if previous is not None and previous.at > latest.at:
                continue  # an older print arriving late (e.g. a poll behind the stream)
            self.guards.set_reference(
                symbol, latest.previous_close or self.market.previous_close(symbol, latest.at)
            )
            reason = self.guards.check(latest, now)
            if reason is None:
                state.stale.pop(symbol, None)
            else:
                state.stale[symbol] = reason
            if previous is None or previous.price != latest.price or kind is not None:
                changed.add(symbol)  # an opening or closing check re-reads every symbol
            state.prints[symbol] = latest
            state.missing.pop(symbol, None)
            self._dirty.add(symbol)
        if self._last_sweep is None or (now - self._last_sweep).total_seconds() >= 15:
            self._last_sweep = now  # prints that aged while nothing came (every 15 s)
            for symbol, latest in state.prints.items():
                if symbol not in batch.prints and symbol not in state.stale:
                    reason = self.guards.check_age(latest, now)
                    if reason is not None:
                        state.stale[symbol] = reason
                        self._dirty.add(symbol)
        if not changed and kind is None and self.on_tick is not None:
            return None  # nothing moved: no snapshot to build, no rule to evaluate
        tick = FeedTick(
            self.snapshot(now),
            kind or self.kind_at(now),
            frozenset(changed),
            frozenset(state.stale),
            batch.source,
        )
        if self.on_tick is not None and (changed or kind is not None):
            await self.on_tick(tick)
        return tick

    # ------------------------------------------------------------ outputs

    def kind_at(self, now: datetime) -> PrintKind:
        """pre / intraday / post, by where the primary market's day stands at `now` (in a
        replay: against the replayed session's open and close)."""
        primary = primary_market()
        if self.watch_session is not None:
            if now < primary.open_of(self.watch_session):
                return "pre"
            return "intraday" if now < primary.close_of(self.watch_session) else "post"
        session = primary.print_session(now)
        return "intraday" if session == "regular" else session

    def snapshot(self, now: datetime) -> Snapshot:
        """The joined snapshot of every known print (stale ones explained).

        Each symbol's quote is joined when its print, staleness or the session changes and
        reused otherwise, so a print of one symbol costs one join, not one per symbol.
        """
        extended = self.extended if self.kind_at(now) in ("pre", "post") else {}
        book = markets()
        reference = self.watch_session or book.default.reference_session(now)
        watched = {market.name: book.watched_session(market, now) for market in book}
        watched[book.default.name] = reference
        state = self.state
        key = (reference, tuple(watched.values()), self._generation)
        if key != self._view_key:
            self._view_key, self._view = key, {}
            self._dirty = set(state.prints) | set(state.missing)
        for symbol in self._dirty:
            latest = state.prints.get(symbol)
            if latest is not None:
                quote = self.market.quote(latest, now, state.stale.get(symbol))
                session = watched[book.for_symbol(symbol).name]
                if isinstance(quote, Quote) and quote.session.normalize() != session:
                    when = quote.session.date()
                    quote = _without_moves(
                        quote, f"{symbol} last traded {when}, not on this session"
                    )
                self._view[symbol] = quote
            elif symbol in state.missing:
                code = state.missing[symbol]
                self._view[symbol] = Unavailable(code, f"{symbol}: {code.replace('_', ' ')}")
        self._dirty = set()
        return Snapshot(now, reference, dict(self._view), extended)


def _without_moves(quote: Quote, why: str) -> Quote:
    """The quote with its moves unavailable (it belongs to another session than the one its
    market is watched for)."""
    reason = Unavailable("stale", why)
    metrics = dict(quote.metrics)
    metrics.update({name: reason for name in MOVE_METRICS})
    return Quote(**{**quote.__dict__, "metrics": metrics})
