"""The synthesis check: cited sentences, figures found in what they cite, the channel's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import build_services
from bot.domain.news import Headline
from bot.domain.synthesis import (
    Source,
    check_synthesis,
    figures_in,
    split_sentences,
    summary_field,
    synthesis_doc,
    synthesis_messages,
    synthesis_sources,
)
from bot.domain.views import ExpertView
from bot.services import Core

FIGURES = "SOX −9.15 % · DJI (proxy DIA) +0.68 % (2025-01-27)"
SOURCES = [
    Source(
        1, "headline", "Nvidia sheds $589 billion in value as shares drop 17% — Reuters", "Reuters"
    ),
    Source(2, "headline", "엔비디아 시가총액 5890억 달러 증발 — 한국경제", "한국경제"),
    Source(
        3,
        "view",
        "Marc Andreessen (bullish), 2025-01-26: a Sputnik moment for AI",
        "Marc Andreessen",
    ),
]


def verdict(text: str, locale: str = "en") -> str:
    result = check_synthesis(text, SOURCES, FIGURES, locale)  # type: ignore[arg-type]
    return "ok" if result.ok else result.reason


def test_a_cited_answer_whose_figures_are_in_its_sources_passes() -> None:
    text = (
        "Nvidia lost $589 billion of value as its shares fell 17% [1]. "
        "Andreessen called it a Sputnik moment while SOX fell 9.15 % [3]."
    )
    assert verdict(text) == "ok"


def test_figures_match_after_normalising_signs_units_and_rounding() -> None:
    assert verdict("Chips fell −9.2 % while the Dow held [3].") == "ok"  # 9.15 rounded
    assert verdict("Chips fell -9 percent [3].") == "ok"
    assert verdict("Nvidia shed about 0.59 trillion dollars [1].") == "ok"  # $589 billion
    korean = "엔비디아 시가총액이 5890억 달러 줄었고 주가는 17% 내렸습니다 [1][2]."
    assert verdict(korean, "ko") == "ok"  # 5890억 = 589 billion
    assert verdict("반도체 지수는 9.15%p 밀렸습니다 [3].", "ko") == "ok"


def test_an_invented_figure_is_dropped() -> None:
    assert (
        verdict("Nvidia fell 23% on the news [1].")
        == "sentence 1: the figure 23 is in no cited source"
    )
    # 17 % is in source 1, but sentence 2 cites only source 3.
    text = "Nvidia fell 17% [1]. Andreessen saw Nvidia down 17% [3]."
    assert verdict(text) == "sentence 2: the figure 17 is in no cited source"


def test_a_citation_to_a_source_that_does_not_exist_is_dropped() -> None:
    assert verdict("Nvidia fell 17% [1]. Analysts were split [7].") == (
        "sentence 2 cites [7], which does not exist"
    )


def test_a_sentence_without_a_citation_is_dropped() -> None:
    assert verdict("Nvidia fell 17% [1]. Analysts were split.") == "sentence 2 cites no source"


def test_an_answer_in_the_wrong_language_is_dropped() -> None:
    assert verdict("Nvidia fell 17% [1].", "ko") == "not written in Korean"
    assert verdict("엔비디아가 17% 내렸습니다 [1].", "en") == "not written in English"


def test_more_than_two_sentences_or_400_characters_is_dropped() -> None:
    three = "Nvidia fell [1]. Chips fell [1]. The Dow rose [3]."
    assert verdict(three) == "3 sentences (at most 2)"
    assert verdict("Nvidia fell [1]. " + "x" * 400) == "longer than 400 characters"


def test_sentences_split_at_full_stops_not_at_decimals_or_abbreviations() -> None:
    text = "U.S. chips fell 9.15 % vs. the Dow [1]. Then came Nvidia. [2][3]"
    assert split_sentences(text) == [
        "U.S. chips fell 9.15 % vs. the Dow [1].",
        "Then came Nvidia. [2][3]",
    ]


def test_index_names_and_citations_are_not_figures() -> None:
    assert figures_in("the S&P 500 and Nasdaq 100 [12]") == []


def test_sources_number_the_cards_headlines_first_then_its_views(core: Core) -> None:
    services = build_services(core, None)  # type: ignore[arg-type]
    view: ExpertView = services.views[0]
    story = Headline(
        "Nvidia drops 17%", "Reuters", datetime(2025, 1, 27, 15, tzinfo=UTC), "", "Yahoo"
    )
    sources = synthesis_sources([story], [view], "ko")
    assert [(s.number, s.kind) for s in sources] == [(1, "headline"), (2, "view")]
    assert view.summary("ko") in sources[1].text
    messages = synthesis_messages(sources, FIGURES, "ko")
    assert (
        "Korean" in messages[0]["content"]
        and "[1] (headline) Nvidia drops 17%" in messages[1]["content"]
    )


def test_the_card_shows_the_sentences_and_names_each_cited_view() -> None:
    text = "Nvidia fell 17% [1]. Andreessen saw a Sputnik moment [3]."
    doc = synthesis_doc(text, SOURCES, "test-model")
    field = summary_field(doc, "en")
    assert field is not None
    assert field.value == text + "\n[3] Marc Andreessen"
    assert field.name.startswith("What the news and experts are saying")


@pytest.mark.parametrize("bad", [None, {}, {"text": "  "}])
def test_no_synthesis_no_section(bad: object) -> None:
    assert summary_field(bad, "en") is None
