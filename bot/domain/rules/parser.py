"""Parser for shock rules such as `SOX.pct <= -5 and DJI.pct > 0`.

A hand-written recursive-descent parser with an explicit depth limit: hostile input
(10,000 nested parentheses, dunder names, calls) always ends in `RuleError`, never in
`RecursionError`, and no user text ever reaches `eval`/`exec`.

Grammar (case-insensitive keywords)::

    rule     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum (("<=" | "<" | ">=" | ">" | "==" | "!=") sum)?
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | "+" unary | atom
    atom     := NUMBER ["%"] | symbol "." METRIC | FUNC "(" args ")" | "(" or ")"
    symbol   := ALIAS | '"' YAHOO_SYMBOL '"'
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.domain.symbols import Instrument, SymbolBook, UnknownSymbolError

MAX_RULE_LENGTH = 500
MAX_DEPTH = 32
MAX_NODES = 200
MAX_ABS_NUMBER = 1e9

METRICS: dict[str, str] = {
    "pct": "move vs the previous session's close, %",
    "gap": "open vs the previous close, %",
    "intraday": "last vs open, %",
    "vol20": "stdev of the 20 prior daily moves, %",
    "z": "pct / vol20",
    "last": "last price",
    "prev_close": "previous session's close",
}
FUNCTIONS: dict[str, tuple[int, int]] = {"abs": (1, 1), "min": (2, 8), "max": (2, 8)}
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
KEYWORDS = ("and", "or", "not")

Kind = Literal["number", "bool"]


class RuleError(ValueError):
    """A rule that cannot be parsed or checked; points at the offending column."""

    def __init__(self, message: str, column: int | None = None, source: str = "") -> None:
        self.message = message
        self.column = column
        self.source = source
        where = f" at column {column}" if column is not None else ""
        head, sep, tail = message.partition(" — ")
        super().__init__(f"{head}{where}{sep}{tail}")

    def caret(self) -> str:
        """The rule with a caret under the offending column (for monospace output)."""
        if self.column is None or not self.source:
            return self.source
        return f"{self.source}\n{' ' * (self.column - 1)}^"


# ---------------------------------------------------------------- tree


@dataclass(frozen=True)
class Number:
    value: float
    column: int


@dataclass(frozen=True)
class MetricRef:
    instrument: Instrument
    metric: str
    column: int


@dataclass(frozen=True)
class Negate:
    operand: Node
    column: int


@dataclass(frozen=True)
class Arithmetic:
    op: str
    left: Node
    right: Node
    column: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    column: int


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Not:
    operand: Node
    column: int


Node = Number | MetricRef | Negate | Arithmetic | Call | Compare | Logic | Not
_Sub = Callable[[], Node]


def kind_of(node: Node) -> Kind:
    """Whether a node yields a number or a truth value."""
    return "bool" if isinstance(node, Compare | Logic | Not) else "number"


def metric_refs(node: Node) -> list[MetricRef]:
    """Every symbol.metric the rule reads, in source order."""
    if isinstance(node, MetricRef):
        return [node]
    if isinstance(node, Number):
        return []
    if isinstance(node, Negate | Not):
        return metric_refs(node.operand)
    if isinstance(node, Arithmetic | Compare):
        return metric_refs(node.left) + metric_refs(node.right)
    children = node.args if isinstance(node, Call) else node.operands
    return [ref for child in children for ref in metric_refs(child)]


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, string, op, end
    text: str
    column: int


_TOKEN_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>"[^"\n]*"|'[^'\n]*')
      | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,|\.|%)
    """,
    re.VERBOSE,
)
_YAHOO_SYMBOL_RE = re.compile(r"^\^?[A-Za-z0-9][A-Za-z0-9.\-=^]{0,19}$")


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens; any other character is an error at its column."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            char = text[position]
            hint = " — use 'and' / 'or'" if char in "&|" else ""
            hint = " — use '==' to compare" if char == "=" else hint
            raise RuleError(f"unexpected character {char!r}{hint}", position + 1, text)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, symbols: SymbolBook) -> None:
        self.text = text
        self.symbols = symbols
        self.tokens = tokenize(text)
        self.position = 0
        self.depth = 0
        self.nodes = 0

    # helpers
    def error(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.peek()
        return RuleError(message, token.column, self.text)

    def peek(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text.lower() == word

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def expect_op(self, op: str, context: str) -> Token:
        if not self.at_op(op):
            found = self.peek().text or "end of rule"
            raise self.error(f"expected '{op}' {context}, found '{found}'")
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"rule nests too deeply (more than {MAX_DEPTH} levels)")

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"rule is too complex (more than {MAX_NODES} parts)")

    def require(self, node: Node, kind: Kind, token: Token, role: str) -> Node:
        if kind_of(node) != kind:
            wanted = "a comparison (true/false)" if kind == "bool" else "a number"
            raise self.error(f"{role} must be {wanted}", token)
        return node

    # grammar
    def parse(self) -> Node:
        first = self.peek()
        if first.kind == "end":
            raise self.error("the rule is empty")
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error(f"unexpected '{self.peek().text}'")
        return self.require(node, "bool", first, "a rule")

    def parse_or(self) -> Node:
        return self.parse_logic("or", self.parse_and)

    def parse_and(self) -> Node:
        return self.parse_logic("and", self.parse_not)

    def parse_logic(self, word: str, operand: _Sub) -> Node:
        self.enter()
        start = self.peek()
        first = operand()
        operands = [first]
        while self.at_keyword(word):
            self.count()
            self.advance()
            token = self.peek()
            operands.append(self.require(operand(), "bool", token, f"each side of '{word}'"))
        self.depth -= 1
        if len(operands) == 1:
            return first
        self.require(first, "bool", start, f"each side of '{word}'")
        return Logic(word, tuple(operands), start.column)

    def parse_not(self) -> Node:
        if self.at_keyword("not"):
            self.enter()
            self.count()
            token = self.advance()
            operand = self.require(self.parse_not(), "bool", self.peek(), "'not'")
            self.depth -= 1
            return Not(operand, token.column)
        return self.parse_compare()

    def parse_compare(self) -> Node:
        start = self.peek()
        left = self.parse_sum()
        if not self.at_op(*COMPARISONS):
            return left
        op = self.advance()
        self.count()
        self.require(left, "number", start, f"the left side of '{op.text}'")
        right_token = self.peek()
        right = self.require(
            self.parse_sum(), "number", right_token, f"the right side of '{op.text}'"
        )
        if self.at_op(*COMPARISONS):
            raise self.error("chained comparisons are not supported — join them with 'and'")
        return Compare(op.text, left, right, op.column)

    def parse_sum(self) -> Node:
        return self.parse_binary(("+", "-"), self.parse_product)

    def parse_product(self) -> Node:
        return self.parse_binary(("*", "/"), self.parse_unary)

    def parse_binary(self, ops: tuple[str, ...], operand: _Sub) -> Node:
        self.enter()
        start = self.peek()
        node = operand()
        while self.at_op(*ops):
            op = self.advance()
            self.count()
            self.require(node, "number", start, f"the left side of '{op.text}'")
            token = self.peek()
            right = self.require(operand(), "number", token, f"the right side of '{op.text}'")
            node = Arithmetic(op.text, node, right, op.column)
        self.depth -= 1
        return node

    def parse_unary(self) -> Node:
        if self.at_op("-", "+"):
            self.enter()
            self.count()
            op = self.advance()
            token = self.peek()
            operand = self.require(self.parse_unary(), "number", token, f"'{op.text}'")
            self.depth -= 1
            if op.text == "+":
                return operand
            if isinstance(operand, Number):
                return Number(-operand.value, op.column)
            return Negate(operand, op.column)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        token = self.peek()
        self.count()
        if token.kind == "number":
            return self.parse_number()
        if token.kind == "string":
            self.advance()
            return self.parse_metric(token, token.text[1:-1], quoted=True)
        if token.kind == "op" and token.text == "(":
            self.enter()
            self.advance()
            node = self.parse_or()
            self.expect_op(")", "to close the '(' at column " + str(token.column))
            self.depth -= 1
            return node
        if token.kind == "name":
            self.advance()
            lowered = token.text.lower()
            if self.at_op("("):
                return self.parse_call(token)
            if lowered in KEYWORDS:
                raise self.error(f"'{token.text}' needs a comparison before it", token)
            return self.parse_metric(token, token.text, quoted=False)
        found = token.text or "end of rule"
        raise self.error(f"expected a number, a symbol or '(', found '{found}'", token)

    def parse_number(self) -> Number:
        token = self.advance()
        if len(token.text) > 24:
            raise self.error("number has too many digits", token)
        value = float(token.text)
        if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
            raise self.error(f"number {token.text} is out of range (|x| ≤ 1e9)", token)
        if self.at_op("%"):
            self.advance()
        return Number(value, token.column)

    def parse_call(self, name: Token) -> Call:
        lowered = name.text.lower()
        if lowered not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise self.error(f"unknown function '{name.text}' — allowed: {known}", name)
        self.enter()
        self.advance()  # "("
        args: list[Node] = []
        if not self.at_op(")"):
            while True:
                token = self.peek()
                args.append(self.require(self.parse_sum(), "number", token, "an argument"))
                if not self.at_op(","):
                    break
                self.advance()
        self.expect_op(")", f"to close {lowered}(")
        self.depth -= 1
        low, high = FUNCTIONS[lowered]
        if not low <= len(args) <= high:
            count = f"{low}" if low == high else f"{low} to {high}"
            raise self.error(f"{lowered}() takes {count} argument(s), got {len(args)}", name)
        return Call(lowered, tuple(args), name.column)

    def parse_metric(self, token: Token, name: str, *, quoted: bool) -> MetricRef:
        if quoted and not _YAHOO_SYMBOL_RE.match(name):
            raise self.error(f"'{name}' is not a Yahoo symbol", token)
        try:
            instrument = self.symbols.resolve(name, quoted=quoted)
        except UnknownSymbolError as exc:
            raise RuleError(str(exc), token.column, self.text) from None
        if not self.at_op("."):
            raise self.error(f"expected '.metric' after {name} (e.g. {name}.pct)")
        self.advance()
        metric_token = self.peek()
        if metric_token.kind != "name":
            raise self.error("expected a metric name after '.'", metric_token)
        self.advance()
        metric = metric_token.text.lower()
        if metric not in METRICS:
            close = difflib.get_close_matches(metric, list(METRICS), n=1)
            hint = f" — did you mean {close[0]}?" if close else f" — one of {', '.join(METRICS)}"
            raise self.error(f"unknown metric '{metric_token.text}'{hint}", metric_token)
        return MetricRef(instrument, metric, token.column)


def parse_rule(text: str, symbols: SymbolBook) -> Node:
    """Parse and check a rule; raises `RuleError` for anything else."""
    if not isinstance(text, str):
        raise RuleError("a rule must be text")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"rule is too long ({len(text)} characters; at most {MAX_RULE_LENGTH})")
    return _Parser(text, symbols).parse()
