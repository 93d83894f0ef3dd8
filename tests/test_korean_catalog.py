"""The Korean catalog reads as written by a person: no stray English, no `없음` for unknown."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from bot.domain.i18n import t

CATALOG = Path(__file__).resolve().parents[1] / "bot" / "domain" / "messages.toml"
GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.ko.md"

ALLOWED_LATIN = {
    # tickers, aliases and series users type or read as they are
    *("SOX", "NVDA", "DJI", "HYNIX", "KS", "AI", "SPX", "COMP", "DIA", "SPY", "QQQ"),
    *("AMD", "TSM"),
    # rule-language words and metrics, shown as typed
    *("pct", "z", "and", "or", "not", "x", "e9", "SOX.pct", "DJI.pct", "NVDA.pct"),
    # command words and option values a user types verbatim
    *("once", "session", "cooldown", "m", "until", "ko", "en", "here", "off", "default"),
    *("views", "rules", "list", "shock", "test", "valuation", "ai-capex", "deepseek"),
    *("timezone", "help", "HH", "MM", "YYYY-MM-DD", "Ctrl-D"),
    *("subscribe", "unsubscribe", "alerts", "mute", "unmute", "snooze", "drop", "tomorrow"),
    *("digest", "now", "watchlist", "add", "remove", "show", "h"),
    "invite",  # Slack's own `/invite @Sputnik`
    # proper names and zone names
    *("Yahoo", "Finance", "Asia", "Seoul", "America", "New_York", "KST", "ET", "Sputnik"),
    # a path shown in a source line
    "data",
}
"""Latin words a Korean string may hold; anything else is English left in a Korean sentence."""

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-^]*")


def _entries(table: dict[str, object], path: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    for key, value in table.items():
        if isinstance(value, dict) and ("ko" in value or "en" in value):
            yield f"{path}{key}", value  # type: ignore[misc]
        elif isinstance(value, dict):
            yield from _entries(value, f"{path}{key}.")


def _catalog() -> list[tuple[str, dict[str, str]]]:
    with CATALOG.open("rb") as handle:
        return list(_entries(tomllib.load(handle)))


def test_every_catalog_key_has_both_languages() -> None:
    missing = [key for key, entry in _catalog() if not entry.get("ko") or not entry.get("en")]
    assert missing == []


def test_korean_strings_hold_no_english_words_beyond_tickers_units_and_names() -> None:
    stray = {
        (key, word)
        for key, entry in _catalog()
        for word in _LATIN_WORD.findall(_PLACEHOLDER.sub("", entry["ko"]))
        if word not in ALLOWED_LATIN
    }
    assert stray == set()


def test_an_unknown_value_reads_as_unknown_not_as_none() -> None:
    assert t("common.na", "ko") == "알 수 없음"
    nones = [
        key for key, entry in _catalog() if entry["ko"].strip() == "없음" and "none" not in key
    ]
    assert nones == []


def test_no_programmer_jargon_in_korean_errors() -> None:
    jargon = ("인자", "파라미터", "예외 발생", "문자열")
    found = [(key, w) for key, entry in _catalog() for w in jargon if w in entry["ko"]]
    # rule_error.* explain the rule language, where a function's 인자 is the right word
    assert [f for f in found if not f[0].startswith("rule_error.")] == []


def test_the_glossary_names_the_terms_the_catalog_uses() -> None:
    glossary = GLOSSARY.read_text(encoding="utf-8")
    korean = " ".join(entry["ko"] for _, entry in _catalog())
    for term in ("시가", "종가", "갭", "거래일", "대용", "알 수 없음", "%p"):
        assert term in glossary
        assert term in korean or term == "%p"
