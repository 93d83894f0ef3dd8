"""The expert-views knowledge base: one TOML file per view under ``data/views/``, loaded and ranked.

A view is what one named source said about a shock, summarised in Korean and English with its exact
figures and attribution. Add a view by dropping a file into the directory; ``load_views`` checks
every field and names the file and field of anything wrong. ``stance`` is the view's lean on the
names a DeepSeek-style shock hits (US AI chips and AI-capex plays): bearish, bullish or mixed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

Stance = Literal["bearish", "bullish", "mixed"]
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
    "stance": "str",
    "topics": "list",
    "shock_kinds": "list",
    "key_figures": "list",
    "summary_ko": "str",
    "summary_en": "str",
    "attribution_ko": "str",
    "attribution_en": "str",
}
_OPTIONAL: dict[str, str] = {"symbols": "list", "date_note": "str"}
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

    def summary(self, locale: Literal["ko", "en"]) -> str:
        """The summary in ``locale``."""
        return self.summary_ko if locale == "ko" else self.summary_en

    def attribution(self, locale: Literal["ko", "en"]) -> str:
        """Who said it, where and when, in ``locale``."""
        return self.attribution_ko if locale == "ko" else self.attribution_en


def load_views(directory: Path) -> tuple[ExpertView, ...]:
    """Read every ``*.toml`` in ``directory``, sorted by id; any bad file raises ViewError."""
    views: dict[str, tuple[ExpertView, Path]] = {}
    for path in sorted(directory.glob("*.toml")):
        view = parse_view(path)
        if view.id in views:
            other = views[view.id][1]
            raise ViewError(path, "id", f"duplicate id {view.id!r}, also used by {other}")
        views[view.id] = (view, path)
    return tuple(views[key][0] for key in sorted(views))


def parse_view(path: Path) -> ExpertView:
    """Read and validate one view file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ViewError(path, None, f"invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ViewError(path, None, f"cannot read file: {exc}") from None
    return view_from_mapping(raw, path)


def view_from_mapping(raw: Mapping[str, Any], path: Path | str) -> ExpertView:
    """Validate a parsed TOML table as a view; ``path`` is only used in error messages."""
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
    return ExpertView(
        id=view_id,
        speaker=text("speaker"),
        institution=text("institution"),
        source=text("source"),
        date=_parse_date(raw["date"], path),
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
    )


def _parse_date(value: object, path: Path | str) -> date:
    """A TOML local date (``2025-01-29``) or an ISO date string."""
    if isinstance(value, datetime):
        raise ViewError(path, "date", "must be a date without a time, e.g. 2025-01-29")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ViewError(path, "date", f"{value!r} is not an ISO date like 2025-01-29")


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
