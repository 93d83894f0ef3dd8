"""Cards: the platform-neutral reply every handler returns and every adapter renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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
class Card:
    """A rendered answer: title, severity, fields, free text, optional chart PNG, footer."""

    title: str
    severity: Severity = Severity.INFO
    fields: tuple[CardField, ...] = ()
    text: str = ""
    chart_png: bytes | None = None
    chart_name: str = "chart.png"
    footer: Footer = field(default_factory=Footer)
