"""Price signatures: the cross-section of moves on a session, and the closest earlier episode.

An episode's signature is the move of each configured symbol (``[episodes] signature`` —
SOX, NVDA, the S&P 500, the Nasdaq, the Dow, VIX; proxies where an index has no data) on its
first session, from the shipped history. A session is compared with every episode that began
before it: the distance is the root mean square of the moves' differences, each in units of
that symbol's typical daily move (its standard deviation over the history), over the symbols
both know. Within ``max_distance`` the nearest one is "the closest past episode"; beyond it,
no past episode looks like the move. What chips did after it (``chips``: SOX, 1, 5 and 20
sessions later) is shown only for horizons that ended by the card's session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from bot.domain.episodes import Episode
from bot.domain.library import ViewLibrary
from bot.domain.market import MarketData
from bot.domain.price_metrics import FORWARD_HORIZONS
from bot.domain.snapshot import Snapshot
from bot.domain.symbols import Instrument, UnknownSymbolError

Signature = Mapping[str, float]
"""Instrument label → move in percent (only the moves known)."""


@dataclass(frozen=True)
class SignatureSettings:
    """`[episodes]`: which moves make a signature, and how close counts as alike."""

    symbols: tuple[str, ...] = ("SOX", "NVDA", "SPX", "COMP", "DJI", "VIX")
    max_distance: float = 2.5
    """Root-mean-square distance in typical daily moves beyond which nothing is alike."""
    min_symbols: int = 4
    """Fewer moves known on both sides than this: not comparable."""
    chips: str = "SOX"
    """What "what chips did afterwards" follows."""

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SignatureSettings:
        """From the merged `[episodes]` table (defaults for what it leaves out)."""
        base = cls()
        return cls(
            symbols=tuple(str(s) for s in section.get("signature", base.symbols)),
            max_distance=float(section.get("max_distance", base.max_distance)),
            min_symbols=int(section.get("min_symbols", base.min_symbols)),
            chips=str(section.get("chips", base.chips)),
        )


@dataclass(frozen=True)
class Closest:
    """The nearest earlier episode to a session's signature."""

    episode: Episode
    distance: float
    alike: bool
    """True within `max_distance`: the card names it and shows its views."""
    limit: float = 0.0
    """The `max_distance` it was judged against."""


class SignatureBook:
    """Signatures of a library's episodes over one market, computed once each."""

    def __init__(
        self, market: MarketData, episodes: Sequence[Episode], settings: SignatureSettings
    ) -> None:
        self.market = market
        self.episodes = tuple(episodes)
        self.settings = settings
        self.instruments: list[Instrument] = []
        for name in settings.symbols:
            try:
                self.instruments.append(market.symbols.resolve(name))
            except UnknownSymbolError:
                continue
        self._scales: dict[str, float] = {}
        self._signatures: dict[str, Signature] = {}

    def scale(self, instrument: Instrument) -> float:
        """The instrument's typical daily move: the standard deviation of its moves."""
        if instrument.label not in self._scales:
            sessions = self.market.sessions(instrument.symbol)
            if instrument.proxy:
                sessions = sessions.union(self.market.sessions(instrument.proxy))
            values = self.market.column(instrument, "pct", sessions).values
            known = values[~np.isnan(values)]
            self._scales[instrument.label] = float(np.std(known)) if len(known) > 20 else math.nan
        return self._scales[instrument.label]

    def session_signature(self, session: date) -> Signature:
        """The moves on a session's close, from the history (proxies where needed)."""
        stamp = pd.Timestamp(session)
        if stamp not in self.market.sessions(self.market.symbols.resolve("SOX").symbol):
            return {}
        return self.snapshot_signature(self.market.snapshot(stamp, "close"))

    def snapshot_signature(self, snapshot: Snapshot) -> Signature:
        """The moves a snapshot holds (a print: at the open every move is the gap)."""
        found: dict[str, float] = {}
        for instrument in self.instruments:
            value = snapshot.read(instrument, "pct").number
            if value is not None and math.isfinite(value):
                found[instrument.label] = value
        return found

    def episode_signature(self, episode: Episode) -> Signature:
        """The episode's first-session moves."""
        if episode.id not in self._signatures:
            self._signatures[episode.id] = self.session_signature(episode.first_session)
        return self._signatures[episode.id]

    def distance(self, one: Signature, other: Signature) -> float | None:
        """RMS of the moves' differences in typical daily moves (None: not comparable)."""
        terms = []
        for instrument in self.instruments:
            label = instrument.label
            scale = self.scale(instrument)
            if label in one and label in other and scale > 0:
                terms.append(((one[label] - other[label]) / scale) ** 2)
        chips = self.settings.chips
        if len(terms) < self.settings.min_symbols or chips not in one or chips not in other:
            return None
        return math.sqrt(sum(terms) / len(terms))

    def closest(self, signature: Signature, session: date) -> Closest | None:
        """The nearest episode that began before ``session`` and does not cover it (None when
        none is comparable); ``alike`` says whether it lies within ``max_distance``."""
        found: list[tuple[float, int, Episode]] = []
        for episode in self.episodes:
            if episode.first_session >= session or episode.covers(session):
                continue
            distance = self.distance(signature, self.episode_signature(episode))
            if distance is not None:
                found.append((distance, -episode.first_session.toordinal(), episode))
        if not found:
            return None
        distance, _, episode = min(found, key=lambda item: item[:2])
        limit = self.settings.max_distance
        return Closest(episode, distance, distance <= limit, limit)

    def chips_after(self, episode: Episode, until: date) -> dict[int, float | None]:
        """The chips' move 1, 5 and 20 sessions after the episode's first session, for the
        horizons whose last session is on or before ``until`` (others None: not known then)."""
        try:
            chips = self.market.symbols.resolve(self.settings.chips)
        except UnknownSymbolError:
            return {h: None for h in FORWARD_HORIZONS}
        table = self.market.table(chips.symbol)
        after: dict[int, float | None] = {h: None for h in FORWARD_HORIZONS}
        start = pd.Timestamp(episode.first_session)
        if table is None or start not in table.frame.index:
            return after
        index = table.frame.index
        position = int(index.searchsorted(start))
        for horizon in FORWARD_HORIZONS:
            if position + horizon >= len(index) or index[position + horizon].date() > until:
                continue
            value = float(table.frame[f"fwd{horizon}"].iloc[position])
            after[horizon] = None if math.isnan(value) else value
        return after


def signature_book(
    library: ViewLibrary, market: MarketData, config: Mapping[str, Any]
) -> SignatureBook:
    """The library's signature book over ``market`` (built once per market and settings)."""
    settings = SignatureSettings.from_config(config)
    key = ("signatures", settings)
    book = library.memo.get(key)
    if not isinstance(book, SignatureBook) or book.market is not market:
        book = library.memo[key] = SignatureBook(market, library.episodes, settings)
    return book
