"""Compile checked rule trees into fast evaluators.

Two back ends share one tree:

* **scalar** — generated Python functions over a flat list of metric values (one
  snapshot). The generated source is built only from the validated tree: slot indices
  (ints) and numbers (`repr(float)`); no user text is ever part of it.
* **vector** — numpy evaluation over whole histories (backtests).

Missing inputs follow three-valued (Kleene) logic: a comparison with an unavailable
operand is *unknown*; `False and unknown` is False, `True or unknown` is True. A rule
fires only when its value is True; unknown means "did not fire, inputs missing".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.domain.rules.parser import (
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
from bot.domain.symbols import Instrument

Value = float | None
Truth = bool | None
ScalarRule = Callable[[Sequence[Value]], Truth]
ScalarNumber = Callable[[Sequence[Value]], Value]

_PY_COMPARE = {"<=": "<=", ">=": ">=", "==": "==", "!=": "!=", "<": "<", ">": ">"}


@dataclass(frozen=True)
class Slot:
    """One input a rule reads: an instrument's metric."""

    instrument: Instrument
    metric: str


@dataclass
class SlotTable:
    """Shared, deduplicated inputs of many compiled rules: fill once per snapshot."""

    slots: list[Slot] = field(default_factory=list)
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def index(self, instrument: Instrument, metric: str) -> int:
        """The slot number for an input, adding it if new."""
        key = (instrument.key, metric)
        if key not in self._index:
            self._index[key] = len(self.slots)
            self.slots.append(Slot(instrument, metric))
        return self._index[key]


class _Names:
    """Slot indices and constants become closure parameters (`i0`, `c0`), so rules of the
    same shape share one code object — as hand-written rules share one function."""

    def __init__(self, table: SlotTable) -> None:
        self.table = table
        self.slots: dict[int, str] = {}
        self.constants: dict[float, str] = {}

    def slot(self, node: MetricRef) -> str:
        index = int(self.table.index(node.instrument, node.metric))
        return self.slots.setdefault(index, f"i{len(self.slots)}")

    def constant(self, value: float) -> str:
        return self.constants.setdefault(float(value), f"c{len(self.constants)}")


class _ScalarCodegen:
    """Turns a tree into straight-line three-valued Python statements, one temp per node."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.lines: list[str] = []
        self.counter = 0

    def temp(self, expression: str) -> str:
        name = f"t{self.counter}"
        self.counter += 1
        self.lines.append(f"        {name} = {expression}")
        return name

    def emit(self, node: Node) -> tuple[str, bool]:
        """Emit code for node; returns (expression, may_be_none)."""
        if isinstance(node, Number):
            return self.names.constant(node.value), False
        if isinstance(node, MetricRef):
            return self.temp(f"v[{self.names.slot(node)}]"), True
        if isinstance(node, Negate):
            operand, nullable = self.emit(node.operand)
            return self.guarded([(operand, nullable)], f"-{operand}"), nullable
        if isinstance(node, Arithmetic):
            left, right = self.emit(node.left), self.emit(node.right)
            expression = f"{left[0]} {node.op} {right[0]}"
            checks = [left, right]
            if node.op == "/":
                return self.guarded(checks, expression, extra=f"{right[0]} == 0"), True
            return self.guarded(checks, expression), left[1] or right[1]
        if isinstance(node, Call):
            args = [self.emit(arg) for arg in node.args]
            expression = f"{node.function}({', '.join(a for a, _ in args)})"
            return self.guarded(args, expression), any(n for _, n in args)
        if isinstance(node, Compare):
            left, right = self.emit(node.left), self.emit(node.right)
            expression = f"{left[0]} {_PY_COMPARE[node.op]} {right[0]}"
            return self.guarded([left, right], expression), left[1] or right[1]
        if isinstance(node, Not):
            operand, nullable = self.emit(node.operand)
            return self.guarded([(operand, nullable)], f"not {operand}"), nullable
        return self.emit_logic(node)

    def guarded(
        self, operands: list[tuple[str, bool]], expression: str, extra: str | None = None
    ) -> str:
        conditions = [f"{name} is None" for name, nullable in operands if nullable]
        if extra:
            conditions.append(extra)
        if not conditions:
            return self.temp(expression)
        return self.temp(f"None if ({' or '.join(conditions)}) else {expression}")

    def emit_logic(self, node: Logic) -> tuple[str, bool]:
        operands = [self.emit(child) for child in node.operands]
        names = [name for name, _ in operands]
        nullable = [name for name, may_be_none in operands if may_be_none]
        decisive = "False" if node.op == "and" else "True"
        other = "True" if node.op == "and" else "False"
        decided = " or ".join(f"{name} is {decisive}" for name in names)
        if not nullable:
            return self.temp(f"{decisive} if ({decided}) else {other}"), False
        unknown = " or ".join(f"{name} is None" for name in nullable)
        return (
            self.temp(f"{decisive} if ({decided}) else (None if ({unknown}) else {other})"),
            True,
        )


_SAFE_GLOBALS: Mapping[str, object] = {
    "__builtins__": {},
    "abs": abs,
    "min": min,
    "max": max,
    "ZeroDivisionError": ZeroDivisionError,
}
_FACTORIES: dict[str, Callable[..., Callable[[Sequence[Value]], object]]] = {}
"""Compiled factories by rule shape (bounded by the number of distinct shapes)."""


def _fast_expression(node: Node, names: _Names) -> str:
    """The tree as one plain Python expression, valid when no input is missing."""
    if isinstance(node, Number):
        return names.constant(node.value)
    if isinstance(node, MetricRef):
        return "s" + names.slot(node)[1:]
    if isinstance(node, Negate):
        return f"(-{_fast_expression(node.operand, names)})"
    if isinstance(node, Not):
        return f"(not {_fast_expression(node.operand, names)})"
    if isinstance(node, Arithmetic | Compare):
        left = _fast_expression(node.left, names)
        right = _fast_expression(node.right, names)
        return f"({left} {node.op} {right})"
    if isinstance(node, Call):
        args = ", ".join(_fast_expression(arg, names) for arg in node.args)
        return f"{node.function}({args})"
    joined = f" {node.op} ".join(_fast_expression(child, names) for child in node.operands)
    return f"({joined})"


def _build(tree: Node, table: SlotTable) -> Callable[[Sequence[Value]], object]:
    # Fast path: every input present → one plain expression (a division by zero falls
    # through). Otherwise the three-valued straight-line code below decides.
    names = _Names(table)
    fast = _fast_expression(tree, names)
    codegen = _ScalarCodegen(names)
    result, _ = codegen.emit(tree)
    reads = [f"s{name[1:]}" for name in names.slots.values()]
    lines = ["    def rule(v):"]
    lines += [f"        s{name[1:]} = v[{name}]" for name in names.slots.values()]
    present = " and ".join(f"{read} is not None" for read in reads) or "True"
    lines += [f"        if {present}:", "            try:", f"                return {fast}"]
    lines += ["            except ZeroDivisionError:", "                pass"]
    body = "\n".join([*lines, *codegen.lines, f"        return {result}", "    return rule"])
    factory = _FACTORIES.get(body)
    if factory is None:
        parameters = ", ".join([*names.slots.values(), *names.constants.values()])
        source = f"def make({parameters}):\n{body}"
        namespace: dict[str, object] = dict(_SAFE_GLOBALS)
        exec(compile(source, "<rule>", "exec"), namespace)  # generated from a checked tree
        factory = namespace["make"]  # type: ignore[assignment]
        assert callable(factory)
        _FACTORIES[body] = factory
    return factory(*names.slots, *names.constants)


def compile_scalar(tree: Node, table: SlotTable) -> ScalarRule:
    """A function of the slot values returning True, False or None (unknown)."""
    return _build(tree, table)  # type: ignore[return-value]


def compile_number(tree: Node, table: SlotTable) -> ScalarNumber:
    """A numeric expression (e.g. a preset's magnitude) over the slot values."""
    return _build(tree, table)  # type: ignore[return-value]


# ---------------------------------------------------------------- vector back end


@dataclass(frozen=True)
class Tri:
    """Three-valued truth over many sessions: `value` is meaningful where `known`."""

    value: np.ndarray
    known: np.ndarray


def evaluate_vector(tree: Node, columns: Mapping[tuple[str, str], np.ndarray]) -> Tri:
    """Evaluate a rule over aligned metric arrays (NaN = unavailable)."""
    result = _vector(tree, columns)
    assert isinstance(result, Tri)
    return result


def evaluate_vector_number(tree: Node, columns: Mapping[tuple[str, str], np.ndarray]) -> np.ndarray:
    """Evaluate a numeric expression over aligned metric arrays (NaN = unavailable)."""
    result = _vector(tree, columns)
    assert isinstance(result, np.ndarray)
    return result


def _vector(node: Node, columns: Mapping[tuple[str, str], np.ndarray]) -> np.ndarray | Tri | float:
    if isinstance(node, Number):
        return float(node.value)
    if isinstance(node, MetricRef):
        return columns[(node.instrument.key, node.metric)]
    if isinstance(node, Negate):
        return -_number(node.operand, columns)
    if isinstance(node, Arithmetic):
        left, right = _number(node.left, columns), _number(node.right, columns)
        with np.errstate(divide="ignore", invalid="ignore"):
            if node.op == "+":
                return np.add(left, right)
            if node.op == "-":
                return np.subtract(left, right)
            if node.op == "*":
                return np.multiply(left, right)
            quotient = np.divide(left, right)
            return np.where(np.asarray(right) == 0, np.nan, quotient)
    if isinstance(node, Call):
        args = [_number(arg, columns) for arg in node.args]
        if node.function == "abs":
            return np.abs(args[0])
        reducer = np.minimum if node.function == "min" else np.maximum
        total = args[0]
        for arg in args[1:]:
            total = reducer(total, arg)  # NaN propagates: unknown stays unknown
        return total
    if isinstance(node, Compare):
        left, right = _number(node.left, columns), _number(node.right, columns)
        known = ~(np.isnan(left) | np.isnan(right))
        with np.errstate(invalid="ignore"):
            value = _NUMPY_COMPARE[node.op](left, right)
        return Tri(np.asarray(value & known), np.asarray(known))
    if isinstance(node, Not):
        inner = _truth(node.operand, columns)
        return Tri(~inner.value & inner.known, inner.known)
    parts = [_truth(child, columns) for child in node.operands]
    if node.op == "and":
        all_true = np.logical_and.reduce([p.value for p in parts])
        any_false = np.logical_or.reduce([p.known & ~p.value for p in parts])
        return Tri(all_true, all_true | any_false)
    any_true = np.logical_or.reduce([p.value for p in parts])
    all_false = np.logical_and.reduce([p.known & ~p.value for p in parts])
    return Tri(any_true, any_true | all_false)


def _number(node: Node, columns: Mapping[tuple[str, str], np.ndarray]) -> np.ndarray:
    result = _vector(node, columns)
    assert not isinstance(result, Tri)
    return np.asarray(result, dtype=float)


def _truth(node: Node, columns: Mapping[tuple[str, str], np.ndarray]) -> Tri:
    result = _vector(node, columns)
    assert isinstance(result, Tri)
    return result


_NUMPY_COMPARE: Mapping[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<=": np.less_equal,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    ">": np.greater,
}
