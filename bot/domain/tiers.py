"""Direction-aware tiers: a rally reads as good news, a sell-off as a warning.

A tier (notice < warning < critical) is named by the card's direction — a sell-off keeps
"notice / warning / critical", a rally says "notable rise / surge / extreme surge" — and
coloured by the reader's market convention, the one the charts use (``chart.py``): Korean
red up / blue down, English green up / red down, deeper for a higher tier. A card with no
direction (a reply, a custom rule that moved nothing) keeps the neutral palette.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.cards import Direction, Severity
from bot.domain.i18n import Locale, t

_NEUTRAL: Mapping[Severity, int] = {
    Severity.INFO: 0x5865F2,
    Severity.NOTICE: 0xF1C40F,
    Severity.WARNING: 0xE67E22,
    Severity.CRITICAL: 0xE74C3C,
    Severity.ERROR: 0x95A5A6,
}
_SCALES: Mapping[tuple[Locale, Direction], tuple[int, int, int]] = {
    # notice, warning, critical
    ("en", "down"): (0xF1C40F, 0xE67E22, 0xE74C3C),  # amber → red (English: red is down)
    ("en", "up"): (0x82E0AA, 0x2ECC71, 0x1A9641),  # light → deep green
    ("ko", "down"): (0x85B7EB, 0x3B7DD8, 0x1F5FBF),  # light → deep blue (Korean: blue is down)
    ("ko", "up"): (0xF5A7A0, 0xE74C3C, 0xC0392B),  # light → deep red (Korean: red is up)
}
_TIERED = (Severity.NOTICE, Severity.WARNING, Severity.CRITICAL)


def severity_colour(severity: Severity, direction: Direction | None, locale: Locale) -> int:
    """The card's colour (0xRRGGBB): by direction in the reader's convention, else neutral."""
    if direction is None or severity not in _TIERED:
        return _NEUTRAL.get(severity, _NEUTRAL[Severity.INFO])
    return _SCALES[(locale, direction)][_TIERED.index(severity)]


def tier_name(tier: str, direction: Direction | None, locale: Locale) -> str:
    """``critical`` → "critical" for a sell-off, "extreme surge" for a rally."""
    section = "tier_up" if direction == "up" else "tier"
    return t(f"{section}.{tier}", locale)


def severity_mark(severity: Severity, direction: Direction | None, locale: Locale) -> str:
    """The mark before a title (``[CRITICAL] `` / ``[EXTREME SURGE] ``); none for info."""
    if severity is Severity.INFO:
        return ""
    section = "severity_up" if direction == "up" and severity in _TIERED else "severity"
    return t(f"{section}.{severity.value}", locale) + " "
