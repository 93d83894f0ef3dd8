"""Snapshots: every symbol at one moment, with its metrics or the reason they are missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pandas as pd

from bot.domain.price_metrics import Unavailable
from bot.domain.symbols import Instrument

PrintState = Literal["open", "close"]
Reading = float | Unavailable


@dataclass(frozen=True)
class Quote:
    """One symbol at one moment: prices, where they came from, and derived metrics."""

    symbol: str
    session: pd.Timestamp
    """The symbol's own session the prices belong to."""
    state: PrintState
    """`open`: only the opening print is known so far; `close`: the session has closed."""
    as_of: datetime
    source: str
    last: float | None
    previous_close: float | None
    open: float | None
    high: float | None
    low: float | None
    metrics: Mapping[str, Reading]
    adjusted_levels: bool = False

    def metric(self, name: str) -> Reading:
        """A metric's value, or why it is unavailable."""
        return self.metrics.get(name, Unavailable("no_data", f"{self.symbol}: no {name}"))


@dataclass(frozen=True)
class Resolved:
    """A metric read for an instrument, naming the series that provided it."""

    instrument: Instrument
    metric: str
    value: Reading
    symbol: str
    """The Yahoo symbol actually used: the instrument's own, or its proxy."""

    @property
    def via_proxy(self) -> bool:
        """True when the proxy stood in for the index."""
        return self.symbol != self.instrument.symbol

    @property
    def number(self) -> float | None:
        """The value, or None when unavailable."""
        return self.value if isinstance(self.value, float) else None

    @property
    def label(self) -> str:
        """How outputs name the input: `DJI (proxy DIA)` when the proxy was used."""
        base = self.instrument.label
        return f"{base} (proxy {self.symbol})" if self.via_proxy else base


@dataclass(frozen=True)
class Snapshot:
    """All quotes known at `moment`, for the reference `session` being watched."""

    moment: datetime
    session: pd.Timestamp
    quotes: Mapping[str, Quote | Unavailable]
    extended: Mapping[str, str] = field(default_factory=dict)
    """Pre- and post-market only: index symbol → the ETF standing in for it (^SOX → SOXX),
    used after the index and its own proxy, and named like a proxy."""
    _cache: dict[tuple[str, str], Resolved] = field(default_factory=dict, compare=False)

    def quote(self, symbol: str) -> Quote | Unavailable:
        """The quote of a Yahoo symbol, or why there is none."""
        found = self.quotes.get(symbol)
        if found is None:
            return Unavailable("no_data", f"no data for {symbol}")
        return found

    def read(self, instrument: Instrument, metric: str) -> Resolved:
        """The metric from the instrument's own series, else from its proxy."""
        key = (instrument.key, metric)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        value = self._metric(instrument.symbol, metric)
        symbol = instrument.symbol
        if isinstance(value, Unavailable) and instrument.proxy:
            proxy_value = self._metric(instrument.proxy, metric)
            if not isinstance(proxy_value, Unavailable):
                value, symbol = proxy_value, instrument.proxy
        stand_in = self.extended.get(instrument.symbol)
        if isinstance(value, Unavailable) and stand_in:
            stand_in_value = self._metric(stand_in, metric)
            if not isinstance(stand_in_value, Unavailable):
                value, symbol = stand_in_value, stand_in
        resolved = Resolved(instrument, metric, value, symbol)
        self._cache[key] = resolved
        return resolved

    def _metric(self, symbol: str, metric: str) -> Reading:
        quote = self.quote(symbol)
        return quote if isinstance(quote, Unavailable) else quote.metric(metric)
