"""The expert-views knowledge base: one TOML file per view under ``data/views/``, loaded and ranked.

A view is what one named source said about a shock, summarised in Korean and English with its exact
figures and attribution. Add a view by dropping a file into the directory; ``load_views`` checks
every field and names the file and field of anything wrong. ``stance`` is the view's lean on the
names a DeepSeek-style shock hits (US AI chips and AI-capex plays): bearish, bullish, mixed, or
fact (figures or events reported without a lean); see ``data/views/README.md``.

Each view names the ``episode`` it is about (the first session of a shock, named in
``episodes.toml`` beside the views). ``fitting_views`` attaches a view to its own episode's
sessions, and elsewhere only where its shock kinds match the shock — then labelled with its
episode ("said about the 2025-01-27 DeepSeek shock (2025-01-29)").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from bot.domain.i18n import Locale, t

Day = date
"""A calendar date (``ExpertView.date`` shadows the type inside the class)."""
Stance = Literal["bearish", "bullish", "mixed", "fact"]
STANCES: tuple[Stance, ...] = get_args(Stance)

TOPICS: tuple[str, ...] = (
    "ai-capex",
    "chip-demand",
    "valuation",
    "rates",
    "export-controls",
    "pricing-pressure",
    "efficiency",
    "consumer-devices",
    "fiscal-policy",
    "us-ai-leadership",
    "inference",
    "power-demand",
    "ai-monetization",
    "concentration-risk",
    "market-breadth",
    "us-policy",
)
"""The fixed topic vocabulary; each has a label ``topic.<id>`` in the i18n catalog."""

SHOCK_KINDS: tuple[str, ...] = ("deepseek", "chip_crash", "nvda_decoupling", "ai_power_unwind")
"""Shock preset ids a view can speak to."""

_REQUIRED: dict[str, str] = {
    "id": "str",
    "speaker": "str",
    "institution": "str",
    "source": "str",
    "date": "date",
    "episode": "date",
    "stance": "str",
    "topics": "list",
    "shock_kinds": "list",
    "key_figures": "list",
    "summary_ko": "str",
    "summary_en": "str",
    "attribution_ko": "str",
    "attribution_en": "str",
}
_OPTIONAL: dict[str, str] = {"symbols": "list", "date_note": "str", "speaker_ko": "str"}
EPISODES_FILE = "episodes.toml"
"""Names and spans of the episodes, beside the views (not itself a view)."""
EPISODE_SPAN_DAYS = 4
"""Without a `through` date, an episode explains the sessions of this many days after it."""
_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SYMBOL_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$")


class ViewError(ValueError):
    """A view file is unreadable or invalid; the message names the file and (if known) field."""

    def __init__(self, path: Path | str, field: str | None, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        where = f"{self.path}: field {field!r}" if field else self.path
        super().__init__(f"{where}: {reason}")


class UnknownTopicError(ValueError):
    """A topic outside the vocabulary was asked for."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(f"unknown topic {topic!r}: use one of {', '.join(TOPICS)}")


@dataclass(frozen=True)
class ExpertView:
    """One expert's view of a shock, with bilingual summary and exact attribution."""

    id: str
    speaker: str
    institution: str
    source: str
    date: date
    stance: Stance
    topics: tuple[str, ...]
    shock_kinds: tuple[str, ...]
    key_figures: tuple[str, ...]
    summary_ko: str
    summary_en: str
    attribution_ko: str
    attribution_en: str
    symbols: tuple[str, ...] = ()
    date_note: str = ""
    episode: Day | None = None
    """The first session of the shock the view is about."""
    episode_through: Day | None = None
    """The last session (any market's) that episode explains."""
    episode_name_en: str = ""
    episode_name_ko: str = ""
    speaker_ko: str = ""

    def speaker_name(self, locale: Locale) -> str:
        """The speaker's name in ``locale`` (the Korean name where the file gives one)."""
        return self.speaker_ko if locale == "ko" and self.speaker_ko else self.speaker

    def about_session(self, day: Day) -> bool:
        """True when ``day`` is one of the sessions of the view's own episode."""
        if self.episode is None:
            return False
        through = self.episode_through or date.fromordinal(
            self.episode.toordinal() + EPISODE_SPAN_DAYS
        )
        return self.episode <= day <= through

    @property
    def date_given(self) -> bool:
        """Whether the view's source dates it: its attribution carries the date. A view whose
        brief gives no date (`date_note` says why it has one) is shown without it."""
        day = self.date.isoformat()
        return day in self.attribution_en or day in self.attribution_ko

    def summary(self, locale: Literal["ko", "en"]) -> str:
        """The summary in ``locale``."""
        return self.summary_ko if locale == "ko" else self.summary_en

    def attribution(self, locale: Literal["ko", "en"]) -> str:
        """Who said it, where and when, in ``locale``."""
        return self.attribution_ko if locale == "ko" else self.attribution_en


@dataclass(frozen=True)
class Episode:
    """A shock episode the views speak about: its first and last session and its name."""

    start: date
    through: date | None
    name_en: str
    name_ko: str


def load_episodes(path: Path) -> dict[date, Episode]:
    """``episodes.toml``: ``["2025-01-27"] name_en = … name_ko = … through = 2025-01-31``."""
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ViewError(path, None, f"unreadable: {exc}") from None
    episodes: dict[date, Episode] = {}
    for key, table in raw.items():
        start = _parse_date(key, path, "episode")
        if not isinstance(table, Mapping):
            raise ViewError(path, key, "must be a table with name_en, name_ko and through")
        names = {}
        for name in ("name_en", "name_ko"):
            value = table.get(name, "")
            if not isinstance(value, str) or not value.strip():
                raise ViewError(path, f"{key}.{name}", "must be a non-empty string")
            names[name] = value.strip()
        through = _parse_date(table["through"], path, "through") if "through" in table else None
        episodes[start] = Episode(start, through, names["name_en"], names["name_ko"])
    return episodes


def load_views(directory: Path) -> tuple[ExpertView, ...]:
    """Read every view ``*.toml`` in ``directory``, sorted by id; any bad file raises ViewError."""
    episodes = load_episodes(directory / EPISODES_FILE)
    views: dict[str, tuple[ExpertView, Path]] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == EPISODES_FILE:
            continue
        view = parse_view(path, episodes)
        if view.id in views:
            other = views[view.id][1]
            raise ViewError(path, "id", f"duplicate id {view.id!r}, also used by {other}")
        views[view.id] = (view, path)
    return tuple(views[key][0] for key in sorted(views))


def parse_view(path: Path, episodes: Mapping[date, Episode] | None = None) -> ExpertView:
    """Read and validate one view file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ViewError(path, None, f"invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ViewError(path, None, f"cannot read file: {exc}") from None
    return view_from_mapping(raw, path, episodes)


def view_from_mapping(
    raw: Mapping[str, Any], path: Path | str, episodes: Mapping[date, Episode] | None = None
) -> ExpertView:
    """Validate a parsed TOML table as a view; ``path`` is only used in error messages.

    ``episodes`` (from ``episodes.toml``) names the view's episode and says how far it spans.
    """
    for name in raw:
        if name not in _REQUIRED and name not in _OPTIONAL:
            known = ", ".join([*_REQUIRED, *_OPTIONAL])
            raise ViewError(path, name, f"unknown field (known fields: {known})")
    for name in _REQUIRED:
        if name not in raw:
            raise ViewError(path, name, "missing")

    def text(name: str) -> str:
        value = raw.get(name, "")
        if not isinstance(value, str):
            raise ViewError(path, name, "must be a string")
        if name in _REQUIRED and not value.strip():
            raise ViewError(path, name, "must not be empty")
        return value.strip()

    def strings(
        name: str, allowed: Sequence[str] | None = None, non_empty: bool = True
    ) -> tuple[str, ...]:
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ViewError(path, name, "must be a list of non-empty strings")
        if non_empty and not value:
            raise ViewError(path, name, "must list at least one entry")
        if allowed is not None:
            for item in value:
                if item not in allowed:
                    raise ViewError(path, name, f"unknown value {item!r}: use {', '.join(allowed)}")
        if len(set(value)) != len(value):
            raise ViewError(path, name, "lists an entry twice")
        return tuple(v.strip() for v in value)

    view_id = text("id")
    if not _ID_PATTERN.match(view_id):
        raise ViewError(
            path, "id", "must be lowercase words joined by hyphens, e.g. 'dalio-bubble'"
        )
    stance = text("stance")
    if stance not in STANCES:
        raise ViewError(path, "stance", f"must be one of {', '.join(STANCES)}")
    symbols = strings("symbols", non_empty=False) if "symbols" in raw else ()
    for symbol in symbols:
        if not _SYMBOL_PATTERN.match(symbol):
            raise ViewError(path, "symbols", f"{symbol!r} is not an upper-case ticker")
    episode = _parse_date(raw["episode"], path, "episode")
    named = (episodes or {}).get(episode)
    return ExpertView(
        id=view_id,
        speaker=text("speaker"),
        institution=text("institution"),
        source=text("source"),
        date=_parse_date(raw["date"], path, "date"),
        stance=cast(Stance, stance),  # checked against STANCES above
        topics=strings("topics", TOPICS),
        shock_kinds=strings("shock_kinds", SHOCK_KINDS),
        key_figures=strings("key_figures", non_empty=False),
        summary_ko=text("summary_ko"),
        summary_en=text("summary_en"),
        attribution_ko=text("attribution_ko"),
        attribution_en=text("attribution_en"),
        symbols=symbols,
        date_note=text("date_note"),
        episode=episode,
        episode_through=named.through if named else None,
        episode_name_en=named.name_en if named else "",
        episode_name_ko=named.name_ko if named else "",
        speaker_ko=text("speaker_ko"),
    )


def _parse_date(value: object, path: Path | str, field: str) -> date:
    """A TOML local date (``2025-01-29``) or an ISO date string."""
    if isinstance(value, datetime):
        raise ViewError(path, field, "must be a date without a time, e.g. 2025-01-29")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ViewError(path, field, f"{value!r} is not an ISO date like 2025-01-29")


def normalize_topic(topic: str) -> str:
    """Map user spellings (``AI capex``, ``ai_capex``) onto the vocabulary; unknown raises."""
    key = re.sub(r"[\s_]+", "-", topic.strip().lower())
    if key not in TOPICS:
        raise UnknownTopicError(topic)
    return key


def relevance(
    view: ExpertView,
    *,
    shock_kinds: Collection[str],
    topics: Collection[str] = (),
    symbol: str | None = None,
) -> int:
    """The score ``rank_views`` sorts by (see there)."""
    score = 4 * len(set(view.shock_kinds) & set(shock_kinds))
    score += 2 * len(set(view.topics) & set(topics))
    if symbol and symbol.upper() in view.symbols:
        score += 3
    return score


def rank_views(
    views: Sequence[ExpertView],
    *,
    shock_kinds: Collection[str],
    topics: Collection[str] = (),
    symbol: str | None = None,
    limit: int = 2,
) -> list[ExpertView]:
    """The ``limit`` views most relevant to a shock, best first; deterministic.

    Score = 4 per requested shock kind the view speaks to + 2 per requested topic it covers
    + 3 if ``symbol`` (case-insensitive) is in the view's ``symbols``. Views scoring 0 are left out.
    Ties go to the more recent view (``date`` descending), then to the smaller ``id``.
    """
    scored = [
        (relevance(v, shock_kinds=shock_kinds, topics=topics, symbol=symbol), v) for v in views
    ]
    ranked = sorted(
        ((score, v) for score, v in scored if score > 0),
        key=lambda item: (-item[0], -item[1].date.toordinal(), item[1].id),
    )
    return [v for _, v in ranked[: max(limit, 0)]]


def views_for_topic(views: Sequence[ExpertView], topic: str | None) -> list[ExpertView]:
    """Views on ``topic`` (all views when None), newest first then by id; unknown topic raises."""
    wanted = normalize_topic(topic) if topic is not None else None
    chosen = [v for v in views if wanted is None or wanted in v.topics]
    return sorted(chosen, key=lambda v: (-v.date.toordinal(), v.id))


def balanced_views(ranked: Sequence[ExpertView], limit: int = 2) -> list[ExpertView]:
    """The best view first, then — so a trader sees both sides — the best of the opposite
    stance (bullish ↔ bearish), then of any other stance, then the rest, in rank order."""
    if not ranked or limit <= 0:
        return []
    first = ranked[0]
    opposite = {"bullish": "bearish", "bearish": "bullish"}.get(first.stance)
    rest = list(ranked[1:])
    preference = sorted(
        rest,
        key=lambda v: (v.stance != opposite, v.stance == first.stance, rest.index(v)),
    )
    return [first, *preference[: limit - 1]]


@dataclass(frozen=True)
class ViewMatch:
    """A view that fits a shock, and whether the shock is the view's own episode."""

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
        name = view.episode_name_ko if locale == "ko" else view.episode_name_en
        if not view.date_given:
            return t(
                "views_context.said_about_undated",
                locale,
                episode=view.episode.isoformat(),
                name=name or t("views_context.unnamed", locale),
            )
        return t(
            "views_context.said_about",
            locale,
            episode=view.episode.isoformat(),
            name=name or t("views_context.unnamed", locale),
            date=view.date.isoformat(),
        )


def fitting_views(
    views: Sequence[ExpertView],
    *,
    session: date,
    kinds: Collection[str],
    topics: Collection[str] = (),
    symbols: Collection[str] = (),
    market_sessions: Collection[date] = (),
) -> list[ViewMatch]:
    """The views that fit a shock on ``session``, best first; [] when nothing fits.

    A view fits its own episode's sessions (``session``, or for a Korean subject any of the
    US ``market_sessions`` it reacts to, inside the episode). Elsewhere it fits only when one
    of its ``shock_kinds`` is among ``kinds`` (the presets that fired) — topics and symbols
    only rank, they never make a view fit. Order: own episode first, then ``relevance``
    (kinds, topics, the first of ``symbols``), then the newer view, then the id.
    """
    days = {session, *market_sessions}
    wanted = set(kinds)
    symbol = next(iter(symbols), None)
    matches: list[tuple[int, ViewMatch]] = []
    for view in views:
        own = any(view.about_session(day) for day in days)
        if not own and not set(view.shock_kinds) & wanted:
            continue
        score = relevance(view, shock_kinds=wanted, topics=topics, symbol=symbol)
        score += sum(3 for other in list(symbols)[1:] if other.upper() in view.symbols)
        matches.append((score, ViewMatch(view, own)))
    matches.sort(
        key=lambda item: (
            not item[1].own_episode,
            -item[0],
            -item[1].view.date.toordinal(),
            item[1].view.id,
        )
    )
    return [match for _, match in matches]


def balanced_matches(matches: Sequence[ViewMatch], limit: int = 2) -> list[ViewMatch]:
    """``balanced_views`` over matches: the best first, then the other side where there is one."""
    by_id = {match.view.id: match for match in matches}
    chosen = balanced_views([match.view for match in matches], limit)
    return [by_id[view.id] for view in chosen]
