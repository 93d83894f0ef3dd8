"""Evaluate many compiled rules against one snapshot, explaining what fired and why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.price_metrics import Unavailable
from bot.domain.rules.compiler import (
    ScalarNumber,
    ScalarRule,
    SlotTable,
    Truth,
    Value,
    compile_number,
    compile_scalar,
)
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import Rule, Tier
from bot.domain.snapshot import Resolved, Snapshot


@dataclass(frozen=True)
class RuleOutcome:
    """One rule at one snapshot: fired or not, its tier, and the inputs it read."""

    rule: Rule
    truth: Truth
    tier: Tier | None
    magnitude: float | None
    inputs: tuple[Resolved, ...]

    @property
    def fired(self) -> bool:
        """True only when the rule is definitely true."""
        return self.truth is True

    @property
    def missing(self) -> tuple[Resolved, ...]:
        """Inputs that were unavailable, each with its reason."""
        return tuple(item for item in self.inputs if isinstance(item.value, Unavailable))

    @property
    def proxies(self) -> tuple[Resolved, ...]:
        """Inputs served by a proxy (to be named in every output)."""
        return tuple(item for item in self.inputs if item.via_proxy)

    def why_not(self) -> str:
        """Why the rule did not fire: inputs missing, or the condition is false."""
        if self.fired:
            return ""
        if self.truth is None:
            reasons = "; ".join(
                f"{item.instrument.label}.{item.metric}: {item.value}" for item in self.missing
            )
            return f"inputs unavailable — {reasons}"
        return "condition not met"


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    evaluate: ScalarRule
    magnitude: ScalarNumber | None
    slots: tuple[int, ...]


class CompiledRules:
    """Rules compiled once, sharing one slot table; evaluate against any snapshot."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.table = SlotTable()
        self._compiled: list[_Compiled] = []
        for rule in rules:
            slots = tuple(
                dict.fromkeys(
                    self.table.index(ref.instrument, ref.metric) for ref in metric_refs(rule.tree)
                )
            )
            magnitude = compile_number(rule.magnitude, self.table) if rule.magnitude else None
            self._compiled.append(
                _Compiled(rule, compile_scalar(rule.tree, self.table), magnitude, slots)
            )

    def __len__(self) -> int:
        return len(self._compiled)

    def read(self, snapshot: Snapshot) -> tuple[list[Resolved], list[Value]]:
        """Resolve every slot once: the readings and the flat values the rules use."""
        readings = [snapshot.read(slot.instrument, slot.metric) for slot in self.table.slots]
        return readings, [reading.number for reading in readings]

    def fired(self, snapshot: Snapshot) -> list[Rule]:
        """The rules that fire (fast path: no explanations)."""
        _, values = self.read(snapshot)
        return [item.rule for item in self._compiled if item.evaluate(values) is True]

    def evaluate(self, snapshot: Snapshot) -> list[RuleOutcome]:
        """Every rule's outcome with its inputs, tier and magnitude."""
        readings, values = self.read(snapshot)
        outcomes = []
        for item in self._compiled:
            truth = item.evaluate(values)
            magnitude = item.magnitude(values) if item.magnitude else None
            tier = item.rule.tier_for(magnitude) if truth is True else None
            inputs = tuple(readings[slot] for slot in item.slots)
            outcomes.append(RuleOutcome(item.rule, truth, tier, magnitude, inputs))
        return outcomes
