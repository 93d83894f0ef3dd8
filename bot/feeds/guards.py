"""What breaks feeds in the wild, checked on every print of both feeds.

NaN or no data, a quote older than its own market's staleness limit (in that market's
trading time: a lunch break does not age it; after the close it is judged as it stood at
the close), a symbol
Yahoo does not know (logged once per process, not every poll), a rate limit (exponential
back-off; the last good prints are kept and marked stale) and a split-sized jump (no
alert, logged). Each guard answers with a reason string: a reason means "do not fire".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.markets import Market, MarketBook, markets
from bot.ports import Print

log = logging.getLogger(__name__)

SPLIT_RATIOS = (1.5, 2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
SPLIT_TOLERANCE = 0.03


def split_sized(price: float, reference: float | None) -> float | None:
    """The split ratio a jump from `reference` to `price` looks like (None: not one)."""
    if not reference or reference <= 0 or price <= 0:
        return None
    ratio = price / reference
    big = max(ratio, 1.0 / ratio)
    for candidate in SPLIT_RATIOS:
        if abs(big / candidate - 1.0) <= SPLIT_TOLERANCE:
            return candidate
    return None


@dataclass
class Backoff:
    """Exponential back-off after a rate limit, in real (monotonic) seconds."""

    initial: float = 60.0
    maximum: float = 900.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    until: float = 0.0

    def blocked(self) -> bool:
        """True while we must not ask again."""
        return self.clock() < self.until

    def hit(self) -> float:
        """Record one rate limit; the delay before the next attempt."""
        self.failures += 1
        delay = min(self.maximum, self.initial * 2 ** (self.failures - 1))
        self.until = self.clock() + delay
        return delay

    def reset(self) -> None:
        """A request went through."""
        self.failures = 0
        self.until = 0.0


@dataclass
class FeedGuards:
    """The per-print checks and the state they need (unknown symbols, last good prices).

    `stale_seconds`/`stale_extended_seconds` serve a market that sets no limit of its own;
    every limit is multiplied by `speed` (an accelerated replay clock)."""

    stale_seconds: float = 300.0
    stale_extended_seconds: float = 1800.0
    speed: float = 1.0
    book: MarketBook | None = None
    """The markets (the process's by default)."""
    unknown: set[str] = field(default_factory=set)
    reference: dict[str, float] = field(default_factory=dict)

    def note_missing(self, missing: Mapping[str, str]) -> None:
        """Log an unknown symbol the first time only; no data is logged at debug level."""
        for symbol, code in missing.items():
            if code == "unknown_symbol":
                if symbol not in self.unknown:
                    self.unknown.add(symbol)
                    log.warning("feed unknown_symbol symbol=%s (logged once)", symbol)
            elif code != "rate_limited":
                log.debug("feed no_data symbol=%s", symbol)

    def check(self, latest: Print, now: datetime) -> str | None:
        """Why this print must not be used to fire a rule, or None."""
        if math.isnan(latest.price) or latest.price <= 0:
            return f"{latest.symbol}: no valid price"
        too_old = self.check_age(latest, now)
        if too_old is not None:
            return too_old
        reference = self.reference.get(latest.symbol) or latest.previous_close
        ratio = split_sized(latest.price, reference)
        if ratio is not None:
            log.warning(
                "feed split_sized_jump symbol=%s from=%.4f to=%.4f ratio=%s (no alert)",
                latest.symbol,
                reference or 0.0,
                latest.price,
                ratio,
            )
            return f"{latest.symbol}: a split-sized jump ({ratio:g}:1), not a market move"
        self.reference[latest.symbol] = latest.price
        return None

    def limit(self, market: Market, extended: bool) -> float:
        """A quote's staleness limit in its market (seconds of the clock)."""
        if extended:
            own, default = market.stale_extended_seconds, self.stale_extended_seconds
        else:
            own, default = market.stale_seconds, self.stale_seconds
        return (own if own is not None else default) * self.speed

    def check_age(self, latest: Print, now: datetime) -> str | None:
        """Stale: older than its market's limit (regular or extended), counted in that
        market's trading time up to `now` — or up to the end of the phase it printed in,
        once the market no longer trades in that phase."""
        market = (self.book or markets()).for_symbol(latest.symbol)
        extended = latest.market_session != "regular"
        phase = market.phase(now)
        end = now
        if not (phase in ("regular", "break") or (extended and phase == latest.market_session)):
            end = min(now, _phase_end(market, latest))
        age = market.trading_seconds(latest.at, end)
        if age <= self.limit(market, extended):
            return None
        return f"{latest.symbol}: last print {int(age // 60)} min old"

    def set_reference(self, symbol: str, price: float | None) -> None:
        """The previous close a first print is compared with for the split check."""
        if price and symbol not in self.reference:
            self.reference[symbol] = price


def _phase_end(market: Market, latest: Print) -> datetime:
    """When the phase a print belongs to ended: the open for a pre-market print, the end of
    the post-market window for a post-market one, the close for a regular one."""
    session = market.session_of(latest.at)
    if session is None:
        return latest.at
    if latest.market_session == "pre":
        return market.open_of(session)
    close = market.close_of(session)
    if latest.market_session == "post" and market.post_market is not None:
        local = datetime.combine(
            close.astimezone(ZoneInfo(market.zone)).date(), market.post_market[1]
        )
        return max(close, local.replace(tzinfo=ZoneInfo(market.zone)))
    return close
