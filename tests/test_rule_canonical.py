"""A rule's canonical text: one printed form, which parses back to the same rule."""

from __future__ import annotations

import contextlib
from dataclasses import fields, is_dataclass
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from bot.domain.rules.canonical import canonical_text, format_number
from bot.domain.rules.parser import Node, RuleError, parse_rule
from bot.domain.symbols import SymbolBook
from tests.rule_tokens import RULE_TOKENS

ALIASES = {
    "SOX": {"symbol": "^SOX"},
    "DJI": {"symbol": "^DJI", "proxy": "DIA"},
    "SPX": {"symbol": "^GSPC", "proxy": "SPY"},
}
BOOK = SymbolBook.from_config(ALIASES, ["NVDA", "VST", "CEG", "DIA", "SPY", "000660.KS", "BRK-B"])


def shape(node: Any) -> Any:
    """A tree without its columns (where each part stood in the text it was parsed from)."""
    if is_dataclass(node) and not isinstance(node, type):
        parts = [shape(getattr(node, f.name)) for f in fields(node) if f.name != "column"]
        return (type(node).__name__, *parts)
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    return node


def canonical(text: str) -> str:
    return canonical_text(parse_rule(text, BOOK))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("NVDA.pct<=-8", "NVDA.pct <= -8"),
        ("nvda.PCT   <=   -8 %", "NVDA.pct <= -8"),
        ("NVDA.pct <= −8.0", "NVDA.pct <= -8"),
        ("SOX.pct<=-5 AND dji.pct>0", "SOX.pct <= -5 and DJI.pct > 0"),
        ('"^SOX".pct <= -5', "SOX.pct <= -5"),
        ('"000660.KS".pct < 0', '"000660.KS".pct < 0'),
        ("(VST.pct<=-10 or CEG.pct<=-10) and SPX.pct>-2", None),
        ("((NVDA.pct - SOX.pct)) <= -5", "NVDA.pct - SOX.pct <= -5"),
        ("NVDA.pct - (SOX.pct - DJI.pct) < 1", "NVDA.pct - (SOX.pct - DJI.pct) < 1"),
        ("-(NVDA.pct * 2) > 3", "-(NVDA.pct * 2) > 3"),
        ("not (SOX.pct < 0 or DJI.pct < 0)", "not (SOX.pct < 0 or DJI.pct < 0)"),
        ("ABS( SOX.pct )>=5", "abs(SOX.pct) >= 5"),
        ("max(NVDA.z,SOX.z,-1)<=-4", "max(NVDA.z, SOX.z, -1) <= -4"),
        ("NVDA.pct <= .5e1", "NVDA.pct <= 5"),
    ],
)
def test_a_rule_prints_in_one_canonical_form(typed: str, expected: str | None) -> None:
    text = canonical(typed)
    assert text == (expected or "(VST.pct <= -10 or CEG.pct <= -10) and SPX.pct > -2")
    assert canonical(text) == text


def test_two_spellings_of_one_rule_share_their_canonical_text() -> None:
    assert canonical("NVDA.pct <= -8") == canonical("NVDA.pct<=-8") == canonical("nvda.pct <=-8%")
    assert canonical("NVDA.pct <= -8") != canonical("NVDA.pct < -8")


@pytest.mark.parametrize(
    ("value", "text"), [(-8.0, "-8"), (0.5, "0.5"), (1e-7, "1e-07"), (-0.0, "0"), (2.25, "2.25")]
)
def test_numbers_print_in_their_shortest_exact_form(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


_TOKENS = st.sampled_from([*RULE_TOKENS, '"000660.KS".pct', "0.001", "1e-7", "%"])


def _spaced(parts: list[str]) -> st.SearchStrategy[str]:
    """`parts` joined by no space or some, as people type."""
    return st.lists(st.sampled_from(["", " ", "  "]), min_size=len(parts), max_size=len(parts)).map(
        lambda gaps: "".join(gap + part for gap, part in zip(gaps, parts, strict=True))
    )


_NUMBERS = st.sampled_from(["5", "-3.5", "0.001", "1e-7", "8 %", "-0", "12.50"])
_METRICS = st.sampled_from(
    ["SOX.pct", "dji.Z", '"^SOX".gap', '"000660.KS".pct', "NVDA.pct", "spx.vol20"]
)
_NUMERIC = st.recursive(
    _NUMBERS | _METRICS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).flatmap(
            lambda t: _spaced([t[0], t[1], t[2]])
        ),
        inner.flatmap(lambda x: _spaced(["-", x])),
        inner.flatmap(lambda x: _spaced(["(", x, ")"])),
        inner.flatmap(lambda x: _spaced(["abs(", x, ")"])),
        st.tuples(inner, inner).flatmap(lambda t: _spaced(["min(", t[0], ",", t[1], ")"])),
    ),
    max_leaves=4,
)
_COMPARE = st.tuples(_NUMERIC, st.sampled_from(["<=", "<", ">=", ">", "==", "!="]), _NUMERIC).map(
    lambda t: f"{t[0]} {t[1]} {t[2]}"
)
_RULES = st.recursive(
    _COMPARE,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or", "AND"]), inner).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        inner.map(lambda x: f"not {x}"),
        inner.map(lambda x: f"({x})"),
    ),
    max_leaves=5,
)


@settings(max_examples=400, deadline=None)
@given(_RULES)
def test_any_rule_reads_back_from_its_canonical_text_as_the_same_rule(typed: str) -> None:
    try:
        tree = parse_rule(typed, BOOK)
    except RuleError as exc:
        if exc.key not in ("rule_error.too_deep", "rule_error.too_complex"):
            raise
        reject()  # nested past the parser's limits: not a rule to print
    text = canonical_text(tree)
    again = parse_rule(text, BOOK)
    assert shape(again) == shape(tree)
    assert canonical_text(again) == text


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=40))
def test_token_soup_that_parses_reads_back_from_its_canonical_text_as_the_same_rule(
    tokens: list[str],
) -> None:
    tree: Node | None = None
    with contextlib.suppress(RuleError):
        tree = parse_rule(" ".join(tokens), BOOK)
    if tree is None:
        return
    text = canonical_text(tree)
    again = parse_rule(text, BOOK)
    assert shape(again) == shape(tree)
    assert canonical_text(again) == text
