"""Cards: the platform-neutral reply every handler returns and every adapter renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Direction = Literal["down", "up"]


class Severity(StrEnum):
    """How loud a card is; adapters map it to a colour or an emoji."""

    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"
    CRITICAL = "critical"
    ERROR = "error"  # the user's input was not understood


@dataclass(frozen=True)
class CardField:
    """One labelled value, shown side by side with others where the platform can."""

    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Footer:
    """Where the figures came from, when, and the not-investment-advice line."""

    source: str = ""
    as_of: datetime | None = None
    disclaimer: str = ""


@dataclass(frozen=True)
class CardSection:
    """One part of a grouped message (one fired rule of an alert card), in display order."""

    title: str
    severity: Severity = Severity.INFO
    fields: tuple[CardField, ...] = ()
    text: str = ""
    direction: Direction | None = None
    """"up" for a rally, "down" for a sell-off: picks the tier's name and colour."""


@dataclass(frozen=True)
class Card:
    """A rendered answer: title, severity, fields, free text, optional chart PNG, footer.

    Plain text only: no platform markup. `banner` is a short line shown above everything
    ("replay of 2025-01-27", "delayed — fired 09:31"); `sections` hold the parts of a
    grouped alert, most severe first. `mention` is what to ping (a Discord role id, a Slack
    user group or `@here`), set only on alerts to a channel whose admin asked for it.

    Every renderer shows the parts in the card-layout contract's order (ARCHITECTURE.md):
    title, `fields` (figures, when), `sections`, `text` (views), `closing` (what followed),
    chart, footer — and trims from the end of that order, never the figures.
    `direction` ("up" for a rally, "down" for a sell-off, None when it has none) picks the
    tier's name and the colour each renderer gives it.
    """

    title: str
    severity: Severity = Severity.INFO
    fields: tuple[CardField, ...] = ()
    text: str = ""
    chart_png: bytes | None = None
    chart_name: str = "chart.png"
    footer: Footer = field(default_factory=Footer)
    sections: tuple[CardSection, ...] = ()
    banner: str = ""
    mention: str | None = None
    closing: tuple[CardField, ...] = ()
    """Fields shown after `text`: what followed (similar sessions, 1/5/20 sessions later)."""
    direction: Direction | None = None


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending in "…" when something was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"
