"""Korean/English catalog and locale formatting."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import i18n
from bot.domain.i18n import (
    MINUS,
    CatalogError,
    LocaleError,
    catalog,
    format_compact,
    format_date,
    format_datetime,
    format_number,
    format_pct,
    format_price,
    parse_locale,
    placeholders,
    t,
)
from bot.domain.views import STANCES, TOPICS
from bot.services import Core


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ko", "ko"),
        ("KR", "ko"),
        ("korean", "ko"),
        ("한국어", "ko"),
        (" Korean ", "ko"),
        ("en", "en"),
        ("English", "en"),
        ("EN", "en"),
    ],
)
def test_parse_locale_accepts_the_usual_names_of_both_languages(text: str, expected: str) -> None:
    assert parse_locale(text) == expected


@pytest.mark.parametrize("text", ["", "fr", "japanese", "kor ean", "日本語"])
def test_parse_locale_rejects_other_languages_with_a_value_error(text: str) -> None:
    with pytest.raises(LocaleError) as info:
        parse_locale(text)
    assert isinstance(info.value, ValueError)


def test_every_catalog_key_has_both_korean_and_english_text() -> None:
    for key, texts in catalog().items():
        assert set(texts) == {"ko", "en"}, key
        assert texts["ko"].strip() and texts["en"].strip(), key


def test_korean_and_english_messages_take_the_same_parameters() -> None:
    for key, texts in catalog().items():
        assert placeholders(texts["ko"]) == placeholders(texts["en"]), key


def test_korean_text_is_in_hangul_unless_it_is_only_placeholders() -> None:
    for key, texts in catalog().items():
        has_hangul = any("\uac00" <= ch <= "\ud7a3" for ch in texts["ko"])
        assert has_hangul or texts["ko"] == texts["en"], key


def test_the_generic_handler_messages_exist() -> None:
    required = [
        "common.disclaimer",
        "common.source",
        "common.as_of",
        "common.na",
        "unavailable.no_data_session",
        "unavailable.stale_quote",
        "unavailable.missing_previous_session",
        "error.unknown_symbol",
        "error.malformed_date",
        "error.no_session_on_date",
        "error.bad_rule",
        "error.permission_denied",
        "error.argument_too_long",
    ]
    assert [key for key in required if key not in catalog()] == []


def test_every_topic_stance_and_built_in_preset_has_a_label(core: Core) -> None:
    keys = catalog()
    assert {k.removeprefix("topic.") for k in keys if k.startswith("topic.")} == set(TOPICS)
    assert {k.removeprefix("stance.") for k in keys if k.startswith("stance.")} == set(STANCES)
    assert {k.removeprefix("shock.") for k in keys if k.startswith("shock.")} == set(core.presets)


def test_a_rallys_tiers_have_their_own_names_in_both_languages() -> None:
    for tier in ("notice", "warning", "critical"):
        for section in ("tier_up", "severity_up"):
            message = catalog()[f"{section}.{tier}"]
            assert message["ko"] and message["en"]
            assert message["en"] != catalog()[f"{section.removesuffix('_up')}.{tier}"]["en"]


def test_disclaimer_says_not_investment_advice_in_both_languages() -> None:
    assert "Not investment advice" in t("common.disclaimer", "en")
    assert "투자 권유 아님" in t("common.disclaimer", "ko")


def test_t_fills_parameters() -> None:
    assert t("error.unknown_symbol", "en", symbol="NVDX", suggestion="NVDA") == (
        "Unknown symbol 'NVDX'. Did you mean NVDA?"
    )
    assert "NVDA" in t("error.unknown_symbol", "ko", symbol="NVDX", suggestion="NVDA")


def test_t_raises_for_an_unknown_key_or_a_missing_parameter() -> None:
    with pytest.raises(CatalogError):
        t("no.such.key", "en")
    with pytest.raises(CatalogError, match="suggestion"):
        t("error.unknown_symbol", "en", symbol="NVDX")


def test_a_catalog_entry_missing_a_language_is_rejected() -> None:
    out: dict[str, dict[i18n.Locale, str]] = {}
    with pytest.raises(CatalogError, match="lacks en"):
        i18n._flatten({"greeting": {"ko": "안녕"}}, "", out)


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (-16.9705, "en", f"{MINUS}16.97 %"),
        (-16.9705, "ko", f"{MINUS}16.97 %"),
        (0.68, "en", "+0.68 %"),
        (0.68, "ko", "+0.68 %"),
        (-0.001, "en", "0.00 %"),  # rounds to zero: no sign, never "−0.00 %"
        (0.004, "ko", "0.00 %"),
        (0.0, "en", "0.00 %"),
        (None, "en", "n/a"),
        (None, "ko", "알 수 없음"),
        (float("nan"), "en", "n/a"),
    ],
)
def test_format_pct_uses_one_sign_and_spacing_convention_per_locale(
    value: float | None, locale: i18n.Locale, expected: str
) -> None:
    assert format_pct(value, locale) == expected


def test_format_pct_unsigned_drops_the_plus_but_keeps_the_minus() -> None:
    assert format_pct(3.18, "en", signed=False) == "3.18 %"
    assert format_pct(-3.18, "en", signed=False) == f"{MINUS}3.18 %"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.sampled_from(["ko", "en"]))
def test_format_pct_reads_back_as_the_rounded_value(value: float, locale: i18n.Locale) -> None:
    text = format_pct(value, locale)
    number = float(text.replace(MINUS, "-").rstrip(" %").replace(",", ""))
    assert number == pytest.approx(round(value, 2), abs=0.006)


def test_format_number_and_compact_group_thousands_and_use_the_readers_units() -> None:
    assert format_number(818830000, "en") == "818,830,000"
    assert format_number(-1234.5, "ko", decimals=1) == f"{MINUS}1,234.5"
    assert format_compact(818830000, "en") == "818.8M"
    assert format_compact(818830000, "ko") == "8.19억"
    assert format_compact(None, "ko") == "알 수 없음"


def test_format_price_writes_dollars_and_won_the_way_each_reader_expects() -> None:
    assert format_price(118.42, "en") == "$118.42"
    assert format_price(118.42, "ko") == "118.42달러"
    assert format_price(-1.5, "en") == f"{MINUS}$1.50"
    assert format_price(182000, "en", currency="KRW") == "₩182,000"
    assert format_price(182000, "ko", currency="KRW") == "182,000원"
    assert format_price(4853.2, "en", currency=None) == "4,853.20"
    assert format_price(None, "en") == "n/a"


def test_format_date_matches_the_house_style() -> None:
    assert format_date(date(2025, 1, 27), "ko") == "2025년 1월 27일 (월)"
    assert format_date(date(2025, 1, 27), "en") == "Mon 27 Jan 2025"


def test_format_datetime_shows_24_hour_time_and_zone_and_converts_when_asked() -> None:
    close = datetime(2025, 1, 27, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    assert format_datetime(close, "en") == "Mon 27 Jan 2025 16:00 EST"
    seoul = format_datetime(close, "ko", tz=ZoneInfo("Asia/Seoul"))
    assert seoul == "2025년 1월 28일 (화) 06:00 KST"
    assert format_datetime(datetime(2025, 1, 27, 9, 30), "en") == "Mon 27 Jan 2025 09:30"
