"""How loud a shock card is: the symbol's own move by |z| and |move| tiers, lifted by the
presets that read it (re-exported by `bot.domain.analysis`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

TIER_RANKS = {"notice": 1, "warning": 2, "critical": 3}
"""Severity tiers, quietest first."""


def own_move_tier(z: float | None, pct: float | None, config: Mapping[str, Any]) -> str | None:
    """The tier a symbol's own move reaches: the higher of its |z| tier (`[shock] z_tiers`)
    and its |move| tier (`[shock] move_tiers`, which always applies); None below notice."""
    reached: list[str] = []
    for size, tiers in ((z, config.get("z_tiers", {})), (pct, config.get("move_tiers", {}))):
        if size is None or math.isnan(size):
            continue
        for name, threshold in tiers.items():
            if name in TIER_RANKS and abs(size) >= float(threshold):
                reached.append(name)
    return loudest(reached)


def loudest(tiers: Iterable[str | None]) -> str | None:
    """The loudest of some tier names (None when there are none)."""
    known = [tier for tier in tiers if tier in TIER_RANKS]
    return max(known, key=TIER_RANKS.__getitem__) if known else None


def card_tier(own: str | None, preset_tiers: Iterable[str | None]) -> str | None:
    """A card's tier: the symbol's own tier, lifted to the loudest fired preset that reads
    the symbol only when its own move reaches at least notice (a preset alone never makes a
    +0.68 % day loud)."""
    if own is None:
        return None
    return loudest([own, *preset_tiers])
