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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.domain.i18n import CatalogError, Locale, catalog, t
from bot.domain.symbols import Instrument, SymbolBook, UnknownSymbolError

MAX_RULE_LENGTH = 500
MAX_DEPTH = 32
MAX_NODES = 200
MAX_ABS_NUMBER = 1e9

METRICS: dict[str, str] = {
    "pct": "move vs the previous session's close, %",
    "pct5": "move over the last 5 sessions (vs the close 5 sessions earlier), %",
    "pct20": "move over the last 20 sessions (vs the close 20 sessions earlier), %",
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


ParamValue = str | int | tuple[str, ...]
_HINT = " — "


class RuleError(ValueError):
    """A rule that cannot be parsed or checked; points at the offending column.

    ``key`` names a message in the ``[rule_error]`` section of the catalog and ``params`` fill
    it in (a tuple is a list of alternatives, joined with "or" in the reader's language).
    ``str(exc)`` is the English text, ``exc.localized(locale)`` the text in any locale; the
    column goes after the message's head, before a hint introduced by " — ".

    ``RuleError("text", column, source)`` without a key still works for messages that never
    reach a channel (config errors); they stay in English.
    """

    def __init__(
        self,
        message: str | None = None,
        column: int | None = None,
        source: str = "",
        *,
        key: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
    ) -> None:
        if (message is None) == (key is None):
            raise TypeError("RuleError takes either a message or a catalog key")
        self.key = key
        self.params: dict[str, ParamValue] = dict(params or {})
        self.column = column
        self.source = source
        self.message = message if message is not None else self._text("en", with_column=False)
        super().__init__(self._text("en"))

    def localized(self, locale: Locale) -> str:
        """The message in ``locale``, with the column ("at column 5" / "5번째 글자")."""
        return self._text(locale)

    def _text(self, locale: Locale, *, with_column: bool = True) -> str:
        if self.key is None:
            assert self.message is not None
            head, sep, tail = self.message.partition(_HINT)
            if with_column and self.column is not None:
                return f"{head} at column {self.column}{sep}{tail}"
            return self.message
        try:
            template = catalog()[self.key][locale]
        except KeyError:
            raise CatalogError(f"no message {self.key!r} for locale {locale!r}") from None
        values = {
            name: t("rule_error.or", locale).join(value) if isinstance(value, tuple) else value
            for name, value in self.params.items()
        }
        head_template, sep, tail_template = template.partition(_HINT)
        try:
            head = head_template.format_map(values)
            tail = sep + tail_template.format_map(values)
        except KeyError as exc:
            raise CatalogError(f"message {self.key!r} needs parameter {exc.args[0]!r}") from None
        if not with_column or self.column is None:
            return head + tail
        return t("rule_error.at_column", locale, head=head, column=self.column, tail=tail)

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
      | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,|\.|%|−|≤|≥|≠)
    """,
    re.VERBOSE,
)
UNICODE_OPERATORS = {"\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u2260": "!="}
"""Typographic operators read as their ASCII forms (a rule copied from the bot's own output,
which prints U+2212 for minus, parses)."""
_YAHOO_SYMBOL_RE = re.compile(r"^\^?[A-Za-z0-9][A-Za-z0-9.\-=^]{0,19}$")


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens; any other character is an error at its column."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            char = text[position]
            key = "unexpected_char_logic" if char in "&|" else "unexpected_char"
            key = "unexpected_char_equals" if char == "=" else key
            raise RuleError(
                key=f"rule_error.{key}",
                params={"char": repr(char)},
                column=position + 1,
                source=text,
            )
        kind = match.lastgroup or ""
        if kind != "space":
            found = match.group()
            tokens.append(Token(kind, UNICODE_OPERATORS.get(found, found), position + 1))
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
    def error(self, key: str, token: Token | None = None, /, **params: ParamValue) -> RuleError:
        """A `RuleError` for the message ``rule_error.<key>`` at ``token`` (default: the next)."""
        token = token or self.peek()
        return RuleError(
            key=f"rule_error.{key}", params=params, column=token.column, source=self.text
        )

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

    def expect_close(self, key: str, /, **params: ParamValue) -> Token:
        """Expect ")"; else `rule_error.<key>` (or `<key>_end` at the end of the rule)."""
        if not self.at_op(")"):
            found = self.peek()
            if found.kind == "end":
                raise self.error(f"{key}_end", **params)
            raise self.error(key, found=found.text, **params)
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("too_deep", limit=MAX_DEPTH)

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error("too_complex", limit=MAX_NODES)

    def require(self, node: Node, kind: Kind, token: Token, key: str, **params: ParamValue) -> Node:
        """``node`` if it yields ``kind``, else the error ``rule_error.<key>`` at ``token``."""
        if kind_of(node) != kind:
            raise self.error(key, token, **params)
        return node

    # grammar
    def parse(self) -> Node:
        first = self.peek()
        if first.kind == "end":
            raise self.error("empty")
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error("unexpected_token", text=self.peek().text)
        return self.require(node, "bool", first, "rule_not_comparison")

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
            operands.append(
                self.require(operand(), "bool", token, "side_not_comparison", word=word)
            )
        self.depth -= 1
        if len(operands) == 1:
            return first
        self.require(first, "bool", start, "side_not_comparison", word=word)
        return Logic(word, tuple(operands), start.column)

    def parse_not(self) -> Node:
        if self.at_keyword("not"):
            self.enter()
            self.count()
            token = self.advance()
            operand = self.require(
                self.parse_not(), "bool", self.peek(), "not_operand_not_comparison"
            )
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
        self.require(left, "number", start, "left_not_number", op=op.text)
        right_token = self.peek()
        right = self.require(
            self.parse_sum(), "number", right_token, "right_not_number", op=op.text
        )
        if self.at_op(*COMPARISONS):
            raise self.error("chained_comparison")
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
            self.require(node, "number", start, "left_not_number", op=op.text)
            token = self.peek()
            right = self.require(operand(), "number", token, "right_not_number", op=op.text)
            node = Arithmetic(op.text, node, right, op.column)
        self.depth -= 1
        return node

    def parse_unary(self) -> Node:
        if self.at_op("-", "+"):
            self.enter()
            self.count()
            op = self.advance()
            token = self.peek()
            operand = self.require(
                self.parse_unary(), "number", token, "sign_operand_not_number", op=op.text
            )
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
            self.expect_close("expected_close_paren", open_column=token.column)
            self.depth -= 1
            return node
        if token.kind == "name":
            self.advance()
            lowered = token.text.lower()
            if self.at_op("("):
                return self.parse_call(token)
            if lowered in KEYWORDS:
                raise self.error("keyword_needs_comparison", token, word=token.text)
            return self.parse_metric(token, token.text, quoted=False)
        if token.kind == "end":
            raise self.error("expected_operand_end", token)
        raise self.error("expected_operand", token, found=token.text)

    def parse_number(self) -> Number:
        token = self.advance()
        if len(token.text) > 24:
            raise self.error("too_many_digits", token)
        value = float(token.text)
        if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
            raise self.error("number_out_of_range", token, number=token.text)
        if self.at_op("%"):
            self.advance()
        return Number(value, token.column)

    def parse_call(self, name: Token) -> Call:
        lowered = name.text.lower()
        if lowered not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise self.error("unknown_function", name, function=name.text, allowed=allowed)
        self.enter()
        self.advance()  # "("
        args: list[Node] = []
        if not self.at_op(")"):
            while True:
                token = self.peek()
                args.append(self.require(self.parse_sum(), "number", token, "argument_not_number"))
                if not self.at_op(","):
                    break
                self.advance()
        self.expect_close("expected_close_call", function=lowered)
        self.depth -= 1
        low, high = FUNCTIONS[lowered]
        if not low <= len(args) <= high:
            if low == high:
                raise self.error("argument_count", name, function=lowered, count=low, got=len(args))
            raise self.error(
                "argument_count_range", name, function=lowered, low=low, high=high, got=len(args)
            )
        return Call(lowered, tuple(args), name.column)

    def parse_metric(self, token: Token, name: str, *, quoted: bool) -> MetricRef:
        if quoted and not _YAHOO_SYMBOL_RE.match(name):
            raise self.error("not_yahoo_symbol", token, name=name)
        try:
            instrument = self.symbols.resolve(name, quoted=quoted)
        except UnknownSymbolError as exc:
            if exc.suggestions:
                raise self.error(
                    "unknown_symbol", token, symbol=exc.name, suggestions=tuple(exc.suggestions)
                ) from None
            raise self.error("unknown_symbol_no_suggestion", token, symbol=exc.name) from None
        if not self.at_op("."):
            raise self.error("expected_metric", name=name)
        self.advance()
        metric_token = self.peek()
        if metric_token.kind != "name":
            raise self.error("expected_metric_name", metric_token)
        self.advance()
        metric = metric_token.text.lower()
        if metric not in METRICS:
            close = difflib.get_close_matches(metric, list(METRICS), n=1)
            if close:
                raise self.error(
                    "unknown_metric", metric_token, metric=metric_token.text, suggestion=close[0]
                )
            raise self.error(
                "unknown_metric_no_suggestion",
                metric_token,
                metric=metric_token.text,
                metrics=", ".join(METRICS),
            )
        return MetricRef(instrument, metric, token.column)


def parse_rule(text: str, symbols: SymbolBook) -> Node:
    """Parse and check a rule; raises `RuleError` for anything else."""
    if not isinstance(text, str):
        raise RuleError(key="rule_error.not_text")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(
            key="rule_error.too_long", params={"length": len(text), "limit": MAX_RULE_LENGTH}
        )
    return _Parser(text, symbols).parse()
