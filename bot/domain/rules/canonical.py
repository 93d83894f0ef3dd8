"""A checked rule printed one way: `NVDA.pct<=-8` and `nvda.PCT  <=  -8 %` both read
`NVDA.pct <= -8`, so a channel's rules are stored and compared in that form.

The text parses back to the same tree (`parse_rule(canonical_text(tree)) == tree` up to
columns), and printing it again gives the same text. Parentheses appear only where the
grammar needs them; aliases print by their label, other symbols quoted when they are not a
plain name; numbers in their shortest exact form; the `%` suffix is dropped.
"""

from __future__ import annotations

import hashlib
import re

from bot.domain.rules.parser import (
    KEYWORDS,
    Arithmetic,
    Call,
    Compare,
    Logic,
    MetricRef,
    Negate,
    Node,
    Not,
    Number,
)

CUSTOM_PREFIX = "custom:"
"""Rule ids of custom rules start with it: `custom:` + the canonical text."""
MAX_ID_TEXT = 190

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6}
_UNARY = 7
_ATOM = 8


def _precedence(node: Node) -> int:
    if isinstance(node, Logic):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return _PRECEDENCE["not"]
    if isinstance(node, Compare):
        return _PRECEDENCE["compare"]
    if isinstance(node, Arithmetic):
        return _PRECEDENCE[node.op]
    if isinstance(node, Negate) or (isinstance(node, Number) and node.value < 0):
        return _UNARY
    return _ATOM


def format_number(value: float) -> str:
    """The shortest text that reads back as `value`: `-8`, `0.5`, `1e-07`."""
    if value == 0:
        return "0"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _symbol(ref: MetricRef) -> str:
    label = ref.instrument.label
    if _PLAIN_NAME.match(label) and label.lower() not in KEYWORDS:
        return label
    return f'"{label}"'


def _wrapped(node: Node, parent: int, *, tighter: bool = False) -> str:
    """`node`'s text, parenthesised when it binds looser than its parent (or as loose, for the
    right side of a left-associative operator)."""
    text = canonical_text(node)
    own = _precedence(node)
    return f"({text})" if own < parent or (tighter and own == parent) else text


def canonical_text(node: Node) -> str:
    """The rule (or any part of it) in its one printed form."""
    if isinstance(node, Number):
        return format_number(node.value)
    if isinstance(node, MetricRef):
        return f"{_symbol(node)}.{node.metric}"
    if isinstance(node, Negate):
        return "-" + _wrapped(node.operand, _UNARY)
    if isinstance(node, Not):
        return "not " + _wrapped(node.operand, _PRECEDENCE["not"])
    if isinstance(node, Call):
        return f"{node.function}({', '.join(canonical_text(arg) for arg in node.args)})"
    if isinstance(node, Logic):
        own = _PRECEDENCE[node.op]
        return f" {node.op} ".join(_wrapped(part, own, tighter=True) for part in node.operands)
    own = _precedence(node)
    left = _wrapped(node.left, own + (1 if isinstance(node, Compare) else 0))
    right = _wrapped(node.right, own, tighter=True)
    return f"{left} {node.op} {right}"


def custom_rule_id(text: str) -> str:
    """The rule id of a custom rule from its canonical text: one id per rule, whoever typed it
    and however; a very long text is cut and keeps a digest of the rest (ids stay unique)."""
    if len(text) <= MAX_ID_TEXT:
        return CUSTOM_PREFIX + text
    digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    return f"{CUSTOM_PREFIX}{text[: MAX_ID_TEXT - 14]}…#{digest}"


def rule_label(rule_id: str, expression: str | None = None, name: str | None = None) -> str:
    """How a user sees a rule: a saved rule's `name: text`, a custom rule's text, a preset's
    name — never the internal id (`custom:…`)."""
    custom = rule_id.startswith(CUSTOM_PREFIX)
    text = expression or (rule_id.removeprefix(CUSTOM_PREFIX) if custom else None)
    if name is None and not custom and text:
        name = rule_id  # a rule subscribed under its name before saved rules were kept apart
    if name and text:
        return f"{name}: {text}"
    return name or text or rule_id
