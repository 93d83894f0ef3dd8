"""The expert-views knowledge base: one TOML file per view under ``data/views/<episode>/``.

A view is what one named source said about a shock episode, summarised in Korean and English
with its exact figures and attribution. Add a view by dropping a file into its episode's
folder; ``load_views`` checks every field and names the file and field of anything wrong.
``stance`` is the view's lean for a holder of US AI-chip stocks: bearish, bullish, mixed, or
fact (figures or events reported without a lean); see ``data/views/README.md``.

Each view names the ``episode`` it is about (an id in ``episodes.toml``). Which views a card
may show — its own episode's, or the closest earlier one's, never one from the future — is
decided in ``bot.domain.library``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, cast, get_args

from bot.domain.episodes import (
    EPISODES_FILE,
    ID_PATTERN,
    TOPICS,
    Episode,
    ViewError,
    load_episodes,
    parse_date,
    string_list,
)
from bot.domain.i18n import Locale

__all__ = ["EPISODES_FILE", "TOPICS", "Episode", "ExpertView", "ViewError", "load_views"]

Day = date
"""A calendar date (``ExpertView.date`` shadows the type inside the class)."""
Stance = Literal["bearish", "bullish", "mixed", "fact"]
STANCES: tuple[Stance, ...] = get_args(Stance)
EARLY_DAYS = 7
"""A view may be dated this many days before its episode's first session (a warning)."""

_REQUIRED: dict[str, str] = {
    "id": "str",
    "speaker": "str",
    "institution": "str",
    "source": "str",
    "date": "date",
    "episode": "str",
    "stance": "str",
    "topics": "list",
    "key_figures": "list",
    "summary_ko": "str",
    "summary_en": "str",
    "attribution_ko": "str",
    "attribution_en": "str",
}
_OPTIONAL: dict[str, str] = {
    "symbols": "list",
    "shock_kinds": "list",
    "date_note": "str",
    "speaker_ko": "str",
    "url": "str",
    "original_outlet": "str",
    "reported": "bool",
    "excerpt_only": "bool",
}
_SYMBOL_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$")
_KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
_URL_PATTERN = re.compile(r"^https?://[^\s]+$")
_NUMBER = re.compile(r"(?<![A-Za-z\d.,])\d+(?:,\d{3})*(?:\.\d+)?(?![A-Za-z\d])")
"""A number as written: digits, `,` thousands, `.` decimals — not glued to Latin letters
(model names such as V3, R1 or H800 are names, not figures)."""
_ANY_NUMBER = re.compile(r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?(?!\d)")
"""Any run of digits, glued to letters or not: a key figure's Q2, FY2022 or KOSPI200 carries
the 2, 2022 and 200 a Korean summary writes as 2분기, 2022 회계연도 or 코스피200."""


class UnknownTopicError(ValueError):
    """A topic outside the vocabulary was asked for."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(f"unknown topic {topic!r}: use one of {', '.join(TOPICS)}")


@dataclass(frozen=True)
class ExpertView:
    """One expert's view of a shock episode, with bilingual summary and exact attribution."""

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
    episode: Episode | None = None
    """The episode the view is about (from ``episodes.toml``)."""
    speaker_ko: str = ""
    url: str = ""
    original_outlet: str = ""
    """For a repost or mirror: the outlet that first carried it."""
    reported: bool = False
    """The view (or a fact in it) was reported, not confirmed: cards say "reported"."""
    excerpt_only: bool = False
    """The source pack read only an excerpt of the page."""

    @property
    def episode_id(self) -> str:
        """The id of the view's episode ("" when it names none)."""
        return self.episode.id if self.episode else ""

    def speaker_name(self, locale: Locale) -> str:
        """The speaker's name in ``locale`` (the Korean name where the file gives one)."""
        return self.speaker_ko if locale == "ko" and self.speaker_ko else self.speaker

    def about_session(self, day: Day) -> bool:
        """True when ``day`` is one of the sessions of the view's own episode."""
        return self.episode is not None and self.episode.covers(day)

    @property
    def date_given(self) -> bool:
        """Whether the view's source dates it: its attribution carries the date. A view whose
        brief gives no date (`date_note` says why it has one) is shown without it."""
        day = self.date.isoformat()
        return day in self.attribution_en or day in self.attribution_ko

    def summary(self, locale: Locale) -> str:
        """The summary in ``locale``."""
        return self.summary_ko if locale == "ko" else self.summary_en

    def attribution(self, locale: Locale) -> str:
        """Who said it, where and when, in ``locale``."""
        return self.attribution_ko if locale == "ko" else self.attribution_en


def load_views(
    directory: Path,
    episodes: Mapping[str, Episode] | None = None,
    *,
    shock_kinds: Collection[str] | None = None,
) -> tuple[ExpertView, ...]:
    """Read every view ``**/*.toml`` under ``directory`` (not ``episodes.toml``), sorted by id;
    any bad file raises ViewError. ``shock_kinds``, when given, are the ids a view's
    ``shock_kinds`` may name (the presets and episodes)."""
    if episodes is None:
        episodes = load_episodes(directory / EPISODES_FILE)
    views: dict[str, tuple[ExpertView, Path]] = {}
    for path in sorted(directory.glob("**/*.toml")):
        if path.name == EPISODES_FILE and path.parent == directory:
            continue
        view = parse_view(path, episodes, shock_kinds=shock_kinds)
        if view.id in views:
            other = views[view.id][1]
            raise ViewError(path, "id", f"duplicate id {view.id!r}, also used by {other}")
        views[view.id] = (view, path)
    return tuple(views[key][0] for key in sorted(views))


def parse_view(
    path: Path,
    episodes: Mapping[str, Episode] | None = None,
    *,
    shock_kinds: Collection[str] | None = None,
) -> ExpertView:
    """Read and validate one view file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ViewError(path, None, f"invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ViewError(path, None, f"cannot read file: {exc}") from None
    view = view_from_mapping(raw, path, episodes, shock_kinds=shock_kinds)
    if view.id != path.stem:
        raise ViewError(path, "id", f"{view.id!r} must equal the file name ({path.stem!r})")
    return view


def view_from_mapping(
    raw: Mapping[str, Any],
    path: Path | str,
    episodes: Mapping[str, Episode] | None = None,
    *,
    shock_kinds: Collection[str] | None = None,
) -> ExpertView:
    """Validate a parsed TOML table as a view; ``path`` is only used in error messages.

    ``episodes`` (from ``episodes.toml``) must hold the view's episode; its date must lie in
    the episode's span (``EARLY_DAYS`` before its first session … ``through``) unless
    ``date_note`` says why not.
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

    def flag(name: str) -> bool:
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise ViewError(path, name, "must be true or false")
        return value

    view_id = text("id")
    if not ID_PATTERN.match(view_id):
        raise ViewError(
            path, "id", "must be lowercase words joined by hyphens, e.g. 'dalio-bubble'"
        )
    stance = text("stance")
    if stance not in STANCES:
        raise ViewError(path, "stance", f"must be one of {', '.join(STANCES)}")
    symbols = string_list(raw, "symbols", path, required=False)
    for symbol in symbols:
        if not _SYMBOL_PATTERN.match(symbol):
            raise ViewError(path, "symbols", f"{symbol!r} is not an upper-case ticker")
    kinds = string_list(raw, "shock_kinds", path, required=False)
    for kind in kinds:
        allowed = _KIND_PATTERN.match(kind) if shock_kinds is None else kind in shock_kinds
        if not allowed:
            choices = ", ".join(sorted(shock_kinds or ())) or "preset or episode ids"
            raise ViewError(path, "shock_kinds", f"unknown value {kind!r}: use {choices}")
    url = text("url")
    if url and not _URL_PATTERN.match(url):
        raise ViewError(path, "url", f"{url!r} is not an http(s) URL")
    episode_id = raw["episode"]
    if not isinstance(episode_id, str) or not episode_id.strip():
        raise ViewError(
            path, "episode", "must be an episode id from episodes.toml, e.g. 'deepseek'"
        )
    episode = (episodes or {}).get(episode_id.strip())
    if episode is None:
        known_ids = ", ".join(sorted(episodes or {})) or "none: episodes.toml is missing"
        raise ViewError(path, "episode", f"unknown episode {episode_id!r} (known: {known_ids})")
    said = parse_date(raw["date"], path, "date")
    date_note = text("date_note")
    earliest = episode.first_session - timedelta(days=EARLY_DAYS)
    if not date_note and not earliest <= said <= episode.through:
        raise ViewError(
            path,
            "date",
            f"{said} lies outside '{episode.id}' ({earliest} … {episode.through}): "
            "add a date_note saying why",
        )
    return ExpertView(
        id=view_id,
        speaker=text("speaker"),
        institution=text("institution"),
        source=text("source"),
        date=said,
        stance=cast(Stance, stance),  # checked against STANCES above
        topics=string_list(raw, "topics", path, None, TOPICS),
        shock_kinds=kinds,
        key_figures=string_list(raw, "key_figures", path, required=False),
        summary_ko=text("summary_ko"),
        summary_en=text("summary_en"),
        attribution_ko=text("attribution_ko"),
        attribution_en=text("attribution_en"),
        symbols=symbols,
        date_note=date_note,
        episode=episode,
        speaker_ko=text("speaker_ko"),
        url=url,
        original_outlet=text("original_outlet"),
        reported=flag("reported"),
        excerpt_only=flag("excerpt_only"),
    )


def numbers_in(text: str, *, in_names: bool = False) -> list[float]:
    """The numbers written in ``text`` (thousands separators removed; ``.`` decimals);
    ``in_names`` also reads the digits of names such as Q2 or FY2022."""
    pattern = _ANY_NUMBER if in_names else _NUMBER
    return [float(match.replace(",", "")) for match in pattern.findall(text)]


def unbacked_numbers(view: ExpertView) -> list[float]:
    """Numbers written in a summary that none of the view's ``key_figures`` carries (a key
    figure's Q2 backs a summary's 2분기)."""
    backed = {number for figure in view.key_figures for number in numbers_in(figure, in_names=True)}
    written = numbers_in(view.summary_en) + numbers_in(view.summary_ko)
    return sorted({number for number in written if number not in backed})


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
    ranked = ranked_views(views, shock_kinds=shock_kinds, topics=topics, symbol=symbol)
    return [v for score, v in ranked if score > 0][: max(limit, 0)]


def ranked_views(
    views: Sequence[ExpertView],
    *,
    shock_kinds: Collection[str] = (),
    topics: Collection[str] = (),
    symbol: str | None = None,
) -> list[tuple[int, ExpertView]]:
    """Every view with its relevance, best first (ties: newer, then smaller id)."""
    scored = [
        (relevance(v, shock_kinds=shock_kinds, topics=topics, symbol=symbol), v) for v in views
    ]
    return sorted(scored, key=lambda item: (-item[0], -item[1].date.toordinal(), item[1].id))


def views_for_topic(views: Sequence[ExpertView], topic: str | None) -> list[ExpertView]:
    """Views on ``topic`` (all views when None), newest first then by id; unknown topic raises."""
    wanted = normalize_topic(topic) if topic is not None else None
    chosen = [v for v in views if wanted is None or wanted in v.topics]
    return sorted(chosen, key=lambda v: (-v.date.toordinal(), v.id))


def balanced_views(ranked: Sequence[ExpertView], limit: int = 2) -> list[ExpertView]:
    """The best view first, then — so a trader sees both sides — the best of the opposite
    stance (bullish ↔ bearish) by another speaker, then of any other stance, then the rest,
    in rank order."""
    if not ranked or limit <= 0:
        return []
    first = ranked[0]
    opposite = {"bullish": "bearish", "bearish": "bullish"}.get(first.stance)
    rest = list(ranked[1:])
    preference = sorted(
        rest,
        key=lambda v: (
            v.stance != opposite or v.speaker == first.speaker,
            v.stance == first.stance,
            rest.index(v),
        ),
    )
    return [first, *preference[: limit - 1]]
