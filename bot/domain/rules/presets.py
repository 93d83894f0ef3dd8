"""Rules with names, descriptions and severity tiers: the built-in presets and custom rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.rules.parser import Node, RuleError, kind_of, metric_refs, parse_rule
from bot.domain.symbols import SymbolBook

TIER_RANKS: Mapping[str, int] = {"notice": 1, "warning": 2, "critical": 3}
_PRESET_FIELDS = {
    "expr",
    "magnitude",
    "tiers",
    "description_en",
    "description_ko",
    "topics",
    "lead",
    "sessions",
    "direction",
}
DIRECTIONS = ("down", "up")
MARKET_SESSIONS = ("pre", "regular", "post")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PresetError(ValueError):
    """A preset in config with a missing or wrong field."""


@dataclass(frozen=True)
class Tier:
    """A severity tier: reached when the rule's magnitude is at least `threshold`."""

    name: str
    threshold: float

    @property
    def rank(self) -> int:
        """1 (notice) … 3 (critical): a higher rank in the same session escalates."""
        return TIER_RANKS[self.name]


@dataclass(frozen=True)
class Rule:
    """A checked rule: its text and tree, plus optional magnitude, tiers and descriptions."""

    id: str
    text: str
    tree: Node
    magnitude: Node | None = None
    tiers: tuple[Tier, ...] = (Tier("warning", 0.0),)
    description_en: str = ""
    description_ko: str = ""
    topics: tuple[str, ...] = ()
    """Expert-view topics this kind of shock raises (for ranking views)."""
    lead: str | None = None
    """The instrument label an alert's chart shows (default: the first one its magnitude
    reads, else the first one the rule reads)."""
    sessions: tuple[str, ...] = ("regular",)
    """Market sessions in which the rule may fire: `pre`, `regular`, `post`."""
    direction: str | None = None
    """"down" (a sell-off, stress) or "up" (a rally): names and colours its tiers; None for
    a custom rule (its alert takes the direction of the first move it read)."""

    @property
    def lead_label(self) -> str:
        """The instrument label the alert's chart leads with."""
        if self.lead:
            return self.lead
        if self.magnitude is not None:
            refs = metric_refs(self.magnitude)
            if refs:
                return refs[0].instrument.label
        return self.labels[0]

    @property
    def labels(self) -> list[str]:
        """The instrument labels the rule reads, once each, in source order."""
        seen: dict[str, None] = {}
        for ref in metric_refs(self.tree):
            seen.setdefault(ref.instrument.label, None)
        return list(seen)

    def tier_for(self, magnitude: float | None) -> Tier:
        """The highest tier the magnitude reaches (the lowest tier when it is unknown)."""
        chosen = self.tiers[0]
        if magnitude is None:
            return chosen
        for tier in self.tiers:
            if magnitude >= tier.threshold:
                chosen = tier
        return chosen

    def description(self, locale: str) -> str:
        """The one-line description in `locale` ("ko" or "en")."""
        return self.description_ko if locale == "ko" else self.description_en


def custom_rule(text: str, symbols: SymbolBook, rule_id: str = "custom") -> Rule:
    """A rule typed by a user: parsed and checked, one default tier."""
    tree = parse_rule(text, symbols)
    if not metric_refs(tree):
        raise RuleError(key="rule_error.no_symbol", column=1, source=text)
    return Rule(rule_id, text, tree)


def _parse_tiers(preset_id: str, raw: Any) -> tuple[Tier, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise PresetError(
            f"preset '{preset_id}': field 'tiers' must be a table like {{warning = 5}}"
        )
    tiers = []
    for name, threshold in raw.items():
        if name not in TIER_RANKS:
            raise PresetError(
                f"preset '{preset_id}': tier '{name}' must be one of {', '.join(TIER_RANKS)}"
            )
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise PresetError(f"preset '{preset_id}': tier '{name}' needs a number")
        tiers.append(Tier(name, float(threshold)))
    tiers.sort(key=lambda tier: tier.rank)
    thresholds = [tier.threshold for tier in tiers]
    if thresholds != sorted(thresholds):
        raise PresetError(f"preset '{preset_id}': tier thresholds must rise with severity")
    return tuple(tiers)


def build_preset(preset_id: str, raw: Mapping[str, Any], symbols: SymbolBook) -> Rule:
    """Check one `[presets.NAME]` table and parse its expressions."""
    if not _ID_RE.match(preset_id):
        raise PresetError(f"preset name '{preset_id}' must be lower_snake_case")
    unknown = set(raw) - _PRESET_FIELDS
    if unknown:
        raise PresetError(f"preset '{preset_id}': unknown field '{sorted(unknown)[0]}'")
    for name in ("expr", "description_en", "description_ko"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise PresetError(f"preset '{preset_id}': field '{name}' is missing or empty")
    try:
        rule = custom_rule(raw["expr"], symbols, preset_id)
        magnitude = None
        if "magnitude" in raw:
            magnitude = parse_rule_number(str(raw["magnitude"]), symbols)
    except RuleError as exc:
        raise PresetError(f"preset '{preset_id}': {exc}") from None
    tiers = _parse_tiers(preset_id, raw.get("tiers", {"warning": 0}))
    topics = raw.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(item, str) for item in topics):
        raise PresetError(f"preset '{preset_id}': field 'topics' must be a list of strings")
    sessions = raw.get("sessions", ["regular"])
    if (
        not isinstance(sessions, list)
        or not sessions
        or not all(item in MARKET_SESSIONS for item in sessions)
    ):
        raise PresetError(
            f"preset '{preset_id}': field 'sessions' must list some of {', '.join(MARKET_SESSIONS)}"
        )
    lead = raw.get("lead")
    if lead is not None:
        if not isinstance(lead, str) or not lead.strip():
            raise PresetError(f"preset '{preset_id}': field 'lead' must be a symbol")
        try:
            lead = symbols.resolve(lead.strip()).label
        except Exception:
            raise PresetError(f"preset '{preset_id}': unknown lead symbol {lead!r}") from None
    direction = raw.get("direction", "down")
    if direction not in DIRECTIONS:
        raise PresetError(f"preset '{preset_id}': field 'direction' must be \"down\" or \"up\"")
    return Rule(
        preset_id,
        rule.text,
        rule.tree,
        magnitude,
        tiers,
        raw["description_en"].strip(),
        raw["description_ko"].strip(),
        tuple(topics),
        lead,
        tuple(sessions),
        direction,
    )


def parse_rule_number(text: str, symbols: SymbolBook) -> Node:
    """Parse a numeric expression (a preset's magnitude) with the rule grammar."""
    tree = parse_rule(f"({text}) == 0", symbols)
    # The wrapper makes the grammar accept a number; take its left side back out.
    left = getattr(tree, "left", None)
    if left is None or kind_of(left) != "number":
        raise RuleError("magnitude must be a number expression", 1, text)
    return left  # type: ignore[no-any-return]


def load_presets(tables: Mapping[str, Mapping[str, Any]], symbols: SymbolBook) -> dict[str, Rule]:
    """Every preset from its `[presets.NAME]` table (plain values, by name)."""
    return {
        preset_id: build_preset(preset_id, table, symbols) for preset_id, table in tables.items()
    }
