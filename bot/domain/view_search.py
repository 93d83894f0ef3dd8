"""Find views the way a trader asks: by episode (date, id, name or alias), by topic or tag
(its id or its Korean or English label: ``tariffs``, ``관세``, ``엔 캐리``), or by speaker or
institution (``Siegel``, ``키움``), with suggestions for a near miss."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.domain.episodes import TOPICS, Episode
from bot.domain.i18n import t
from bot.domain.library import ViewLibrary
from bot.domain.views import ExpertView

MIN_NAME_QUERY = 2
"""A speaker or institution query shorter than this matches nothing (too loose)."""
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")

Found = Literal["episodes", "episode", "topic", "speaker"]


class NoViewsMatch(LookupError):
    """Nothing matches the query; ``suggestions`` are the nearest things that would."""

    def __init__(self, query: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        super().__init__(f"no episode, topic or speaker matches {query!r}")


@dataclass(frozen=True)
class ViewSearch:
    """What a query found: every episode, one episode, a topic or a speaker's views."""

    found: Found
    views: list[ExpertView] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    """Every episode, newest first (``episodes``), or the one asked for (``episode``)."""
    topic: str | None = None
    speaker: str | None = None
    """The matched speaker's or institution's name as the views write it."""


def normalized(text: str) -> str:
    """Case-, width- and spacing-insensitive form (``AI_capex`` ≈ ``ai capex``, ``엔캐리`` ≈
    ``엔 캐리``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-·.]+", "", folded)


def _newest_first(views: Iterable[ExpertView]) -> list[ExpertView]:
    return sorted(views, key=lambda v: (-v.date.toordinal(), v.id))


def episode_names(episode: Episode) -> list[str]:
    """Every name a trader may type for an episode: id, names, aliases, first session."""
    return [
        episode.id,
        episode.name_en,
        episode.name_ko,
        *episode.aliases,
        episode.first_session.isoformat(),
    ]


def topic_names(topic: str) -> list[str]:
    """A topic's id and its Korean and English labels."""
    return [topic, t(f"topic.{topic}", "en"), t(f"topic.{topic}", "ko")]


def search_views(library: ViewLibrary, query: str) -> ViewSearch:
    """Resolve a ``/views`` query (see the module docstring); raises ``NoViewsMatch``."""
    text = " ".join(query.split())
    if not text:
        episodes = sorted(library.episodes, key=lambda e: e.first_session, reverse=True)
        return ViewSearch("episodes", episodes=episodes)
    key = normalized(text)
    if _DATE.match(text):
        return _by_date(library, text)
    for episode in library.episodes:
        if any(normalized(name) == key for name in episode_names(episode)):
            return ViewSearch("episode", both_sides_first(library.of_episode(episode)), [episode])
    topic = _topic(key)
    if topic is not None:
        views = [
            view
            for view in library
            if topic in view.topics or (view.episode is not None and topic in view.episode.tags)
        ]
        return ViewSearch("topic", _newest_first(views), topic=topic)
    if len(key) >= MIN_NAME_QUERY:
        views = [view for view in library if any(key in normalized(n) for n in _people(view))]
        if views:
            return ViewSearch("speaker", _newest_first(views), speaker=_who(views, key) or text)
    raise NoViewsMatch(text, suggest(library, text))


def _by_date(library: ViewLibrary, text: str) -> ViewSearch:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        wanted = date(year, month, day)
    except ValueError:
        raise NoViewsMatch(text, _nearest_episodes(library, None)) from None
    episode = library.own_episode({wanted})
    if episode is None:
        raise NoViewsMatch(text, _nearest_episodes(library, wanted))
    return ViewSearch("episode", both_sides_first(library.of_episode(episode)), [episode])


STANCE_ORDER = ("bullish", "bearish", "mixed", "fact")


def both_sides_first(views: Iterable[ExpertView]) -> list[ExpertView]:
    """An episode's views: bullish, bearish, mixed, then facts; each newest first."""
    return sorted(views, key=lambda v: (STANCE_ORDER.index(v.stance), -v.date.toordinal(), v.id))


def _nearest_episodes(library: ViewLibrary, wanted: date | None, count: int = 3) -> list[str]:
    episodes = list(library.episodes)
    if wanted is not None:
        episodes.sort(key=lambda e: abs((e.first_session - wanted).days))
    else:
        episodes.sort(key=lambda e: e.first_session, reverse=True)
    return [f"{e.first_session.isoformat()} ({e.id})" for e in episodes[:count]]


def _topic(key: str) -> str | None:
    """The topic whose id or label the query names, or the one label it is a part of."""
    exact = [topic for topic in TOPICS if any(normalized(n) == key for n in topic_names(topic))]
    if exact:
        return exact[0]
    if len(key) < MIN_NAME_QUERY:
        return None
    partial = [topic for topic in TOPICS if any(key in normalized(n) for n in topic_names(topic))]
    return partial[0] if len(partial) == 1 else None


def _people(view: ExpertView) -> list[str]:
    return [name for name in (view.speaker, view.speaker_ko, view.institution) if name]


def _who(views: list[ExpertView], key: str) -> str | None:
    """The one speaker or institution name the views share that the query names."""
    names = {name for view in views for name in _people(view) if key in normalized(name)}
    return min(names, key=len) if names else None


def suggest(library: ViewLibrary, text: str, count: int = 3) -> list[str]:
    """The names closest to a query that matched nothing (episodes, topics, speakers)."""
    candidates: dict[str, str] = {}
    for episode in library.episodes:
        for name in episode_names(episode):
            candidates.setdefault(normalized(name), episode.id)
    for topic in TOPICS:
        for name in topic_names(topic):
            candidates.setdefault(normalized(name), name)
    for view in library:
        for name in _people(view):
            candidates.setdefault(normalized(name), name)
    close = difflib.get_close_matches(normalized(text), list(candidates), n=count, cutoff=0.6)
    return list(dict.fromkeys(candidates[key] for key in close))
