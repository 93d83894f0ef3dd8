"""The rule-language tokens the property tests assemble rules from (parser and canonical text)."""

from __future__ import annotations

RULE_TOKENS: tuple[str, ...] = (
    "SOX.pct",
    "DJI.z",
    '"^SOX".gap',
    "NVDA.pct",
    "abs(",
    "min(",
    ",",
    "(",
    ")",
    "and",
    "or",
    "not",
    "<=",
    ">",
    "==",
    "-",
    "+",
    "*",
    "/",
    "5",
    "-3.5",
)
