"""The rule language: what parses, what is refused, and that hostile input stays contained."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.i18n import catalog
from bot.domain.rules.parser import (
    FUNCTIONS,
    MAX_DEPTH,
    METRICS,
    Compare,
    Logic,
    MetricRef,
    RuleError,
    metric_refs,
    parse_rule,
)
from bot.domain.rules.presets import custom_rule
from bot.domain.symbols import Instrument, SymbolBook
from tests.rule_tokens import RULE_TOKENS

ALIASES = {
    "SOX": {"symbol": "^SOX"},
    "DJI": {"symbol": "^DJI", "proxy": "DIA"},
    "SPX": {"symbol": "^GSPC", "proxy": "SPY"},
    "HYNIX": {"symbol": "000660.KS"},
}


@pytest.fixture(scope="module")
def book() -> SymbolBook:
    return SymbolBook.from_config(ALIASES, ["NVDA", "VST", "CEG", "DIA", "SPY"])


@pytest.mark.parametrize(
    "text",
    [
        "SOX.pct <= -5 and DJI.pct > 0",
        "NVDA.pct - SOX.pct <= -5",
        "NVDA.z <= -4",
        "abs(SOX.pct) >= 5",
        "(VST.pct <= -10 or CEG.pct <= -10) and SPX.pct > -2",
        '"^SOX".pct <= -5',
        '"000660.KS".pct <= -3',
        "not SOX.pct > 0",
        "min(NVDA.pct, SOX.pct, VST.pct) < -3.5",
        "sox.PCT <= -5% AND dji.pct > 0",
        "SOX.gap <= -3 or SOX.intraday <= -3",
        "NVDA.pct / SOX.pct >= 1.5",
    ],
)
def test_valid_rules_parse_into_a_checked_tree(book: SymbolBook, text: str) -> None:
    tree = parse_rule(text, book)
    assert isinstance(tree, Compare | Logic) or tree.__class__.__name__ == "Not"
    assert metric_refs(tree)


def test_alias_resolves_with_its_proxy_and_quoted_symbol_to_the_same_instrument(
    book: SymbolBook,
) -> None:
    by_alias = metric_refs(parse_rule("DJI.pct > 0", book))[0]
    assert by_alias.instrument == Instrument("DJI", "^DJI", "DIA")
    by_symbol = metric_refs(parse_rule('"^DJI".pct > 0', book))[0]
    assert by_symbol.instrument == by_alias.instrument


def test_unknown_symbol_points_at_the_token_and_suggests_the_alias(book: SymbolBook) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("SOXY.pct <= -5", book)
    assert str(caught.value) == "unknown symbol 'SOXY' at column 1 — did you mean SOX?"
    assert caught.value.caret().splitlines()[1] == "^"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("SOX.pcct <= -5", "unknown metric 'pcct'", 5),
        ("SOX.pct <= -5 and", "expected a number, a symbol or '('", 18),
        ("SOX.pct = -5", "use '==' to compare", 9),
        ("SOX.pct <= -5 && DJI.pct > 0", "use 'and' / 'or'", 15),
        ("SOX.pct", "a rule must be a comparison", 1),
        ("SOX.pct <= -5 and 3", "each side of 'and' must be a comparison", 19),
        ("(SOX.pct <= -5", "expected ')'", 15),
        ("-5 < SOX.pct < 5", "chained comparisons are not supported", 14),
        ("sqrt(SOX.pct) > 1", "unknown function 'sqrt'", 1),
        ("abs(SOX.pct, DJI.pct) > 1", "abs() takes 1 argument(s)", 1),
        ("SOX <= 1", "expected '.metric' after SOX", 5),
        ("", "the rule is empty", 1),
    ],
)
def test_invalid_rules_name_the_problem_and_its_column(
    book: SymbolBook, text: str, message: str, column: int
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text, book)
    assert message in str(caught.value)
    assert caught.value.column == column


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "SOX.__class__.__mro__ > 0",
        "SOX.pct.__class__ > 0",
        "exec('1') > 0",
        "eval('1') > 0",
        "open('/etc/passwd') > 0",
        "lambda: 1",
        "[x for x in ()]",
        "SOX.pct <= 1e999",
        "SOX.pct <= 99999999999999999999999999",
        "SOX.pct <= 1e10",
        "SOX.pct ** 2 > 1",
        "SOX.pct if 1 else 2",
        "'^SOX; rm -rf /'.pct > 1",
        "(" * 10_000 + "SOX.pct < 1" + ")" * 10_000,
        "-" * 10_000 + "1 < SOX.pct",
        "not " * 5_000 + "SOX.pct < 1",
        "SOX.pct\x00 < 1",
    ],
)
def test_hostile_input_ends_in_rule_error(book: SymbolBook, text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text, book)


def test_nesting_deeper_than_the_limit_is_refused_before_python_recursion(
    book: SymbolBook,
) -> None:
    depth = MAX_DEPTH + 5
    text = "(" * depth + "SOX.pct < 1" + ")" * depth
    assert len(text) < 500
    with pytest.raises(RuleError, match="nests too deeply"):
        parse_rule(text, book)


def test_numbers_keep_their_value_and_a_percent_sign_is_optional(book: SymbolBook) -> None:
    tree = parse_rule("SOX.pct <= -5.5%", book)
    assert isinstance(tree, Compare)
    assert isinstance(tree.left, MetricRef)
    assert getattr(tree.right, "value", None) == -5.5


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_either_parses_or_raises_rule_error(text: str) -> None:
    book = SymbolBook.from_config(ALIASES, ["NVDA"])
    with contextlib.suppress(RuleError):
        parse_rule(text, book)


_TOKENS = st.sampled_from([*RULE_TOKENS, "1e308", "__import__", ".", "'x'"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=80))
def test_token_soup_either_parses_or_raises_rule_error(tokens: list[str]) -> None:
    book = SymbolBook.from_config(ALIASES, ["NVDA"])
    with contextlib.suppress(RuleError):
        parse_rule(" ".join(tokens), book)


# Every message the parser (and `custom_rule`) can refuse a rule with, driven by an input.
_ERROR_INPUTS: dict[str, object] = {
    "empty": "",
    "not_text": 42,
    "too_long": "SOX.pct < 1 and " * 40 + "SOX.pct < 1",
    "too_deep": "(" * (MAX_DEPTH + 5) + "SOX.pct < 1" + ")" * (MAX_DEPTH + 5),
    "too_complex": "1+" * 150 + "1 < SOX.pct",
    "unexpected_char": "SOX.pct < 1 $",
    "unexpected_char_logic": "SOX.pct <= -5 && DJI.pct > 0",
    "unexpected_char_equals": "SOX.pct = -5",
    "unexpected_token": "SOX.pct < 1 )",
    "expected_operand": "SOX.pct <= -5 and )",
    "expected_operand_end": "SOX.pct <= -5 and",
    "expected_close_paren": "(SOX.pct < 1 5",
    "expected_close_paren_end": "(SOX.pct <= -5",
    "expected_close_call": "abs(SOX.pct 5) > 1",
    "expected_close_call_end": "abs(SOX.pct",
    "keyword_needs_comparison": "and SOX.pct < 1",
    "chained_comparison": "-5 < SOX.pct < 5",
    "rule_not_comparison": "SOX.pct",
    "side_not_comparison": "SOX.pct <= -5 and 3",
    "not_operand_not_comparison": "not SOX.pct",
    "left_not_number": "(SOX.pct < 1) + 1 < 2",
    "right_not_number": "1 + (SOX.pct < 1) < 2",
    "sign_operand_not_number": "-(SOX.pct < 1) < 2",
    "argument_not_number": "abs((SOX.pct < 1)) > 0",
    "too_many_digits": "SOX.pct < " + "1" * 30,
    "number_out_of_range": "SOX.pct < 1e10",
    "unknown_function": "sqrt(SOX.pct) > 1",
    "argument_count": "abs(SOX.pct, DJI.pct) > 1",
    "argument_count_range": "min(SOX.pct) > 1",
    "not_yahoo_symbol": "'^SOX; rm'.pct > 1",
    "unknown_symbol": "SOXY.pct <= -5",
    "unknown_symbol_no_suggestion": "ZZZZZZ.pct <= -5",
    "expected_metric": "SOX <= 1",
    "expected_metric_name": "SOX.(1) < 1",
    "unknown_metric": "SOX.pcct < 1",
    "unknown_metric_no_suggestion": "SOX.qqqqqq < 1",
    "no_symbol": "1 < 2",
}
# Words a Korean message may keep: the rule language itself and the example in it.
_RULE_VOCABULARY = {"and", "or", "not", "SOX", "pct", *METRICS, *FUNCTIONS}
_HELPER_KEYS = {"rule_error.at_column", "rule_error.or"}


def _raise_for(text: object, book: SymbolBook) -> RuleError:
    with pytest.raises(RuleError) as caught:
        custom_rule(text, book)  # type: ignore[arg-type]
    return caught.value


def test_every_rule_error_message_is_driven_by_an_input_here() -> None:
    keys = {key for key in catalog() if key.startswith("rule_error.")} - _HELPER_KEYS
    assert keys == {f"rule_error.{name}" for name in _ERROR_INPUTS}


@pytest.mark.parametrize("name", sorted(_ERROR_INPUTS))
def test_every_rule_error_reads_in_korean_with_its_column(book: SymbolBook, name: str) -> None:
    error = _raise_for(_ERROR_INPUTS[name], book)
    assert error.key == f"rule_error.{name}"
    english, korean = error.localized("en"), error.localized("ko")
    assert english == str(error)
    assert korean != english
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean), korean
    if error.column is not None:
        assert f"at column {error.column}" in english
        assert f"({error.column}번째 글자)" in korean
    # Apart from the user's own text (the parameters, quoted pieces) and the rule language,
    # no English is left in the Korean message.
    rest = korean
    for value in error.params.values():
        for part in value if isinstance(value, tuple) else (str(value),):
            rest = rest.replace(part, " ")
    rest = re.sub(r"'[^']*'", " ", rest)
    leftovers = set(re.findall(r"[A-Za-z_]{2,}", rest)) - _RULE_VOCABULARY
    assert not leftovers, korean


def test_str_of_a_rule_error_is_the_catalogs_english(book: SymbolBook) -> None:
    error = _raise_for("SOXY.pct <= -5", book)
    assert error.params == {"symbol": "SOXY", "suggestions": ("SOX",)}
    template = catalog()["rule_error.unknown_symbol"]["en"]
    assert template.replace("{symbol}", "SOXY").replace("{suggestions}", "SOX") == error.message
    assert str(error) == "unknown symbol 'SOXY' at column 1 — did you mean SOX?"
    assert error.localized("ko") == ("알 수 없는 종목: 'SOXY' (1번째 글자) — 비슷한 종목: SOX")


def test_a_rule_copied_from_the_bots_output_parses_with_unicode_minus_and_comparisons() -> None:
    from bot.domain.symbols import SymbolBook

    book = SymbolBook.from_config({"SOX": "^SOX", "DJI": {"symbol": "^DJI", "proxy": "DIA"}}, ())
    typed = parse_rule("SOX.pct ≤ \u22125 and DJI.pct ≥ 0 and SOX.z \u2260 1", book)
    ascii_rule = parse_rule("SOX.pct <= -5 and DJI.pct >= 0 and SOX.z != 1", book)
    assert _shape(typed) == _shape(ascii_rule)


def _shape(node: object) -> object:
    """The tree without columns (they differ by where the typographic forms sit)."""
    if hasattr(node, "__dataclass_fields__"):
        return (
            type(node).__name__,
            tuple(_shape(getattr(node, f)) for f in node.__dataclass_fields__ if f != "column"),
        )
    if isinstance(node, tuple):
        return tuple(_shape(item) for item in node)
    return node
