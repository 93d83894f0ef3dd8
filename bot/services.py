"""The value types every layer shares: `Core` (market facts, presets, settings) and `Services`.

Both the composition root (`bot/app.py`) and the handlers import this module; it imports
neither of them, so there is no cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain.library import ViewLibrary
from bot.domain.market import MarketData
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import Rule
from bot.domain.symbols import Instrument, UnknownSymbolError
from bot.ports import Clock, NewsDesk
from bot.ports.store import Store
from bot.settings import Settings

log = logging.getLogger(__name__)


class SystemClock:
    """The wall clock (UTC)."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told otherwise (replays step it print by print)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The time it was set to."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Move to `moment`."""
        self._now = moment.astimezone(UTC)


@dataclass(frozen=True)
class Core:
    """Market data, presets and settings: the platform-neutral services."""

    settings: Settings
    market: MarketData
    presets: dict[str, Rule]
    warnings: tuple[str, ...]

    def watchlist(self, names: Sequence[str] | None = None) -> list[Instrument]:
        """The instruments of `names` (a channel's `/watchlist`), else those the replay and the
        digests show by default, from `[replay] watch`; unknown names are skipped."""
        watch = []
        for name in self.settings.replay.watch if names is None else names:
            try:
                instrument = self.market.symbols.resolve(str(name))
            except UnknownSymbolError:
                log.warning("replay watch list: unknown symbol %r skipped", name)
                continue
            if self.market.has(instrument.symbol) or (
                instrument.proxy and self.market.has(instrument.proxy)
            ):
                watch.append(instrument)
        return watch


@dataclass
class Services:
    """The core services commands use (built by the composition root)."""

    core: Core
    store: Store
    views: ViewLibrary
    presets: CompiledRules
    clock: Clock = field(default_factory=SystemClock)
    news: NewsDesk | None = None
    """Headlines (and the synthesis model) for cards; None: no news anywhere."""
