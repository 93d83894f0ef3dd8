"""The view library: episodes and their views, and which views a card about a session may show.

No view from the future. On a card about session D (``/shock``, an alert of D, a digest of
D; live, D is today):

- the views of D's own episode (the one whose span covers D) appear as they are, with
  their dates, up to the episode's ``through`` — a view said two days later explains it;
- a view of another episode appears only if that episode began before D and the view was
  published on or before D — and only through the closest earlier episode by price
  signature (``bot.domain.signature``), never because of a tag or a shock kind.

A card shows one bullish and one bearish view by different speakers (``mixed`` and
``fact`` count for neither side) and says when a side is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, overload

from bot.domain.episodes import EPISODES_FILE, Episode, load_episodes
from bot.domain.i18n import Locale, t
from bot.domain.views import ExpertView, load_views, ranked_views

SIDES = ("bullish", "bearish")


class ViewLibrary(Sequence[ExpertView]):
    """Every view (sorted by id, as a sequence) and every episode (oldest first)."""

    def __init__(self, views: Iterable[ExpertView], episodes: Iterable[Episode] = ()) -> None:
        self._views = tuple(views)
        known = {e.id: e for e in episodes}
        for view in self._views:
            if view.episode is not None:
                known.setdefault(view.episode.id, view.episode)
        self.episodes: tuple[Episode, ...] = tuple(
            sorted(known.values(), key=lambda e: e.first_session)
        )
        self.memo: dict[Any, Any] = {}
        """Per-library caches of derived data (price signatures)."""

    @overload
    def __getitem__(self, index: int) -> ExpertView: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ExpertView]: ...
    def __getitem__(self, index: int | slice) -> ExpertView | Sequence[ExpertView]:
        return self._views[index]

    def __len__(self) -> int:
        return len(self._views)

    def __iter__(self) -> Iterator[ExpertView]:
        return iter(self._views)

    def episode(self, episode_id: str) -> Episode | None:
        """The episode with this id, or None."""
        return next((e for e in self.episodes if e.id == episode_id), None)

    def own_episode(self, days: Collection[date]) -> Episode | None:
        """The episode whose span covers one of ``days`` (the card's session, or for a Korean
        subject the US sessions it reacts to), or None."""
        return next((e for e in self.episodes if any(e.covers(day) for day in days)), None)

    def of_episode(self, episode: Episode) -> list[ExpertView]:
        """The episode's views, sorted by id."""
        return [view for view in self._views if view.episode_id == episode.id]


def load_library(directory: Path, *, shock_kinds: Collection[str] | None = None) -> ViewLibrary:
    """Episodes and views from ``directory`` (``episodes.toml`` and ``**/*.toml``)."""
    episodes = load_episodes(directory / EPISODES_FILE)
    kinds = None if shock_kinds is None else {*shock_kinds, *episodes}
    views = load_views(directory, episodes, shock_kinds=kinds)
    return ViewLibrary(views, episodes.values())


def library_of(views: Sequence[ExpertView]) -> ViewLibrary:
    """``views`` as a library (itself when it is one; else episodes from the views)."""
    return views if isinstance(views, ViewLibrary) else ViewLibrary(views)


def visible_on(view: ExpertView, session: date, own: Episode | None) -> bool:
    """May a card about ``session`` (whose own episode is ``own``) show ``view``?"""
    episode = view.episode
    if episode is None:
        return False
    if own is not None and episode.id == own.id:
        return view.date <= own.through
    return episode.first_session < session and view.date <= session


@dataclass(frozen=True)
class ViewMatch:
    """A view a card shows, and whether the card is about the view's own episode."""

    view: ExpertView
    own_episode: bool

    def context(self, locale: Locale) -> str:
        """What the view was said about, when shown outside its own episode ("" inside it).

        E.g. "said about the 2025-01-27 DeepSeek shock (2025-01-29)" /
        "2025-01-27 딥시크 충격에 대한 발언 (2025-01-29)".
        """
        view = self.view
        if self.own_episode or view.episode is None:
            return ""
        if not view.date_given:
            return t(
                "views_context.said_about_undated",
                locale,
                episode=view.episode.first_session.isoformat(),
                name=view.episode.name(locale),
            )
        return t(
            "views_context.said_about",
            locale,
            episode=view.episode.first_session.isoformat(),
            name=view.episode.name(locale),
            date=view.date.isoformat(),
        )


@dataclass(frozen=True)
class CardViews:
    """The views section of a card: whose episode, which views, which side is missing."""

    episode: Episode
    own: bool
    chosen: tuple[ViewMatch, ...]
    missing: tuple[str, ...]
    """The sides (bullish, bearish) with no view by a distinct speaker on file."""
    distance: float | None = None
    """For the closest earlier episode: its distance in price signature."""


def pick_sides(ranked: Sequence[ExpertView]) -> tuple[list[ExpertView], tuple[str, ...]]:
    """The best bullish and the best bearish view by different speakers (best pair by rank),
    in rank order, and the sides left without one. ``mixed``/``fact`` count for neither; with
    no side at all, the best other view stands alone."""
    position = {view.id: index for index, view in enumerate(ranked)}
    bulls = [v for v in ranked if v.stance == "bullish"]
    bears = [v for v in ranked if v.stance == "bearish"]
    pairs = [(b, r) for b in bulls for r in bears if b.speaker != r.speaker]
    if pairs:
        pair = min(pairs, key=lambda p: (position[p[0].id] + position[p[1].id], position[p[0].id]))
        return sorted(pair, key=lambda v: position[v.id]), ()
    if bulls or bears:
        best = (
            (bulls + bears)[0]
            if not (bulls and bears)
            else min((bulls[0], bears[0]), key=lambda v: position[v.id])
        )
        missing = tuple(side for side in SIDES if side != best.stance)
        return [best], missing
    return list(ranked[:1]), SIDES


def card_views(
    library: ViewLibrary,
    *,
    session: date,
    days: Collection[date] = (),
    closest: Episode | None = None,
    distance: float | None = None,
    kinds: Collection[str] = (),
    topics: Collection[str] = (),
    symbols: Sequence[str] = (),
) -> CardViews | None:
    """The views a card about ``session`` shows: its own episode's (``days`` are further
    sessions it covers, e.g. the US sessions behind a Korean one), else the ``closest``
    earlier episode's as of ``session``; None when neither applies. Views are ranked by
    the shock kinds that fired, the topics and the symbols (the first counts most)."""
    own = library.own_episode({session, *days})
    episode = own or closest
    if episode is None or (own is None and episode.first_session >= session):
        return None
    shown = [v for v in library.of_episode(episode) if visible_on(v, session, own)]
    ranked = [
        view
        for _, view in ranked_views(
            shown, shock_kinds=kinds, topics=topics, symbol=symbols[0] if symbols else None
        )
    ]
    if len(symbols) > 1:
        others = {s.upper() for s in symbols[1:]}
        ranked.sort(key=lambda v: not (others & set(v.symbols)))
    chosen, missing = pick_sides(ranked)
    return CardViews(
        episode,
        own is not None,
        tuple(ViewMatch(view, own is not None) for view in chosen),
        missing,
        None if own is not None else distance,
    )
