"""Shock episodes: what happened on a past shock, loaded from ``data/views/episodes.toml``.

An episode has an id (``deepseek``), its first US session, the last session it explains
(``through``), a name and a one-line headline in Korean and English, tags from the topic
vocabulary (they feed ``/views``, never firing), a direction (a sell-off or a rally),
optional aliases a trader may type, and an optional honest note about what the source pack
lacks. Its price signature is computed from the shipped history (``bot.domain.signature``).
The schema is in ``data/views/README.md``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, cast, get_args

from bot.domain.i18n import Locale

Direction = Literal["down", "up"]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)

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
    "ai-efficiency",
    "tariffs",
    "yen-carry",
    "earnings",
    "rally",
    "pandemic",
    "geopolitics",
    "antitrust",
    "macro-data",
    "liquidity",
    "supply-chain",
)
"""The topic/tag vocabulary (view ``topics``, episode ``tags``); each has a label ``topic.<id>``
in the i18n catalog."""

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EPISODES_FILE = "episodes.toml"
"""The episodes, beside the views (not itself a view)."""
_REQUIRED = (
    "first_session",
    "through",
    "name_en",
    "name_ko",
    "headline_en",
    "headline_ko",
    "tags",
    "direction",
)
_OPTIONAL = ("aliases", "note_en", "note_ko")


class ViewError(ValueError):
    """A view or episode file is unreadable or invalid; names the file and (if known) field."""

    def __init__(self, path: Path | str, field: str | None, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        where = f"{self.path}: field {field!r}" if field else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Episode:
    """A past shock the views speak about."""

    id: str
    first_session: date
    through: date
    name_en: str
    name_ko: str
    headline_en: str = ""
    headline_ko: str = ""
    tags: tuple[str, ...] = ()
    direction: Direction = "down"
    aliases: tuple[str, ...] = ()
    note_en: str = ""
    note_ko: str = ""

    def covers(self, day: date) -> bool:
        """True when ``day`` is one of the sessions the episode explains."""
        return self.first_session <= day <= self.through

    def name(self, locale: Locale) -> str:
        """The short label in ``locale``."""
        return self.name_ko if locale == "ko" else self.name_en

    def headline(self, locale: Locale) -> str:
        """The one-line headline in ``locale``."""
        return self.headline_ko if locale == "ko" else self.headline_en

    def note(self, locale: Locale) -> str:
        """What the source pack lacks, in ``locale`` ("" when nothing is said)."""
        return self.note_ko if locale == "ko" else self.note_en


def parse_date(value: object, path: Path | str, field: str) -> date:
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


def load_episodes(path: Path) -> dict[str, Episode]:
    """Every episode of ``episodes.toml`` by id ({} when the file is absent); a bad table is a
    ViewError naming the file and ``id.field``. Spans may not overlap."""
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ViewError(path, None, f"unreadable: {exc}") from None
    episodes = {key: episode_from_mapping(key, table, path) for key, table in raw.items()}
    ordered = sorted(episodes.values(), key=lambda e: e.first_session)
    for earlier, later in pairwise(ordered):
        if later.first_session <= earlier.through:
            raise ViewError(
                path,
                f"{later.id}.first_session",
                f"{later.first_session} falls inside '{earlier.id}' "
                f"({earlier.first_session} … {earlier.through}): spans may not overlap",
            )
    return episodes


def episode_from_mapping(key: str, table: object, path: Path | str) -> Episode:
    """Validate one ``[id]`` table of ``episodes.toml``."""
    if not ID_PATTERN.match(key):
        raise ViewError(path, key, "an episode id is lowercase words joined by hyphens")
    if not isinstance(table, Mapping):
        raise ViewError(path, key, "must be a table (first_session, through, name_en, …)")
    for name in table:
        if name not in _REQUIRED and name not in _OPTIONAL:
            known = ", ".join([*_REQUIRED, *_OPTIONAL])
            raise ViewError(path, f"{key}.{name}", f"unknown field (known fields: {known})")
    for name in _REQUIRED:
        if name not in table:
            raise ViewError(path, f"{key}.{name}", "missing")

    def text(name: str, required: bool = True) -> str:
        value = table.get(name, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise ViewError(path, f"{key}.{name}", "must be a non-empty string")
        return value.strip()

    first = parse_date(table["first_session"], path, f"{key}.first_session")
    through = parse_date(table["through"], path, f"{key}.through")
    if through < first:
        raise ViewError(path, f"{key}.through", f"{through} is before first_session {first}")
    direction = table["direction"]
    if direction not in DIRECTIONS:
        raise ViewError(path, f"{key}.direction", 'must be "down" (a sell-off) or "up"')
    return Episode(
        id=key,
        first_session=first,
        through=through,
        name_en=text("name_en"),
        name_ko=text("name_ko"),
        headline_en=text("headline_en"),
        headline_ko=text("headline_ko"),
        tags=string_list(table, "tags", path, key, TOPICS),
        direction=cast(Direction, direction),
        aliases=string_list(table, "aliases", path, key, None, required=False),
        note_en=text("note_en", required=False),
        note_ko=text("note_ko", required=False),
    )


def string_list(
    table: Mapping[str, Any],
    name: str,
    path: Path | str,
    prefix: str | None = None,
    allowed: tuple[str, ...] | None = None,
    *,
    required: bool = True,
) -> tuple[str, ...]:
    """A list of non-empty strings, each from ``allowed`` when given, none twice."""
    field = f"{prefix}.{name}" if prefix else name
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ViewError(path, field, "must be a list of non-empty strings")
    if required and not value:
        raise ViewError(path, field, "must list at least one entry")
    if allowed is not None:
        for item in value:
            if item not in allowed:
                raise ViewError(path, field, f"unknown value {item!r}: use {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise ViewError(path, field, "lists an entry twice")
    return tuple(v.strip() for v in value)
