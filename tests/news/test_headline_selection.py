"""Which headlines a card shows: relevant, before the print, newest first, each story once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.news import (
    Headline,
    headline_lines,
    merge_duplicates,
    news_subject,
    select_headlines,
)
from bot.domain.symbols import Instrument
from bot.services import Core

PRINT = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
NAMES = {"NVDA": ("Nvidia",), "SOX": ("chip stocks",), "HYNIX": ("SK Hynix",)}


def item(
    title: str, minutes_before: int, *, link: str = "", tickers: tuple[str, ...] = ()
) -> Headline:
    return Headline(
        title=title,
        publisher="Reuters",
        published_at=PRINT - timedelta(minutes=minutes_before),
        link=link or f"https://example.com/{abs(hash(title))}",
        source="test",
        tickers=tickers,
    )


def test_a_headline_is_about_a_symbol_when_it_names_its_ticker_alias_korean_or_company_name(
    core: Core,
) -> None:
    book = core.market.symbols
    nvda = news_subject(book.resolve("NVDA"), NAMES)
    sox = news_subject(book.resolve("SOX"), NAMES)
    hynix = news_subject(book.resolve("HYNIX"), NAMES)
    assert nvda.mentioned_in("NVDA slides 17% on DeepSeek")
    assert nvda.mentioned_in("엔비디아가 17% 급락")  # names_ko.toml, inside a Korean word
    assert nvda.mentioned_in("NVIDIA's worst day since 2020")  # company name, any case
    assert not nvda.mentioned_in("Intel and AMD hold up")
    assert sox.mentioned_in("Chip stocks tumble as DeepSeek rattles Silicon Valley")
    assert sox.mentioned_in("필라델피아 반도체지수 9% 하락") is True  # 반도체지수 → SOX
    assert hynix.mentioned_in("SK하이닉스 급락") and hynix.mentioned_in("000660 falls")
    assert hynix.mentioned_in("SK Hynix shares slide")


def test_a_ticker_matches_only_as_a_whole_upper_case_word() -> None:
    arm = news_subject(Instrument("ARM", "ARM"), {})
    assert arm.mentioned_in("ARM jumps after earnings")
    assert not arm.mentioned_in("Army contracts lift defence names")
    assert not arm.mentioned_in("FARM income falls")


def test_yahoos_related_tickers_make_a_headline_relevant(core: Core) -> None:
    nvda = news_subject(core.market.symbols.resolve("NVDA"), NAMES)
    story = item("Tech selloff deepens", 30, tickers=("NVDA", "^GSPC"))
    assert nvda.about(story)
    assert not nvda.about(item("Tech selloff deepens", 30, tickers=("AAPL",)))


def test_the_same_link_or_a_near_identical_title_is_one_story_newest_report_kept() -> None:
    first = item("Nvidia shares plunge 17% as DeepSeek rattles AI trade", 120)
    retitled = item("Nvidia shares plunge 17%, as DeepSeek rattles AI trade!", 60)
    same_link = item("Different words, same article", 30, link=first.link + "?utm_source=x")
    other = item("Broadcom falls 17% too", 90)
    merged = merge_duplicates([first, retitled, same_link, other])
    assert [h.title for h in merged] == [same_link.title, retitled.title, other.title]


def test_a_card_keeps_three_relevant_headlines_published_before_the_print_newest_first(
    core: Core,
) -> None:
    nvda = news_subject(core.market.symbols.resolve("NVDA"), NAMES)
    items = [
        item("Nvidia falls 3%", 300),
        item("Nvidia falls 10%", 200),
        item("Nvidia falls 17%", 10),
        item("Nvidia after-hours: more losses", -15),  # published after the print
        item("Nvidia a week ago", 60 * 24 * 8),  # before the lookback window
        item("Apple gains", 5),  # not about NVDA
        item("Nvidia falls 5%", 250),
    ]
    chosen = select_headlines(
        items, [nvda], before=PRINT, since=PRINT - timedelta(hours=24), limit=3
    )
    assert [h.title for h in chosen] == ["Nvidia falls 17%", "Nvidia falls 10%", "Nvidia falls 5%"]


def test_a_headline_line_names_publisher_time_in_the_channels_zone_and_link() -> None:
    from zoneinfo import ZoneInfo

    story = item("엔비디아 17% 급락", 30, link="https://news.example.kr/1")
    english = headline_lines([story], "en", ZoneInfo("America/New_York"))
    korean = headline_lines([story], "ko", ZoneInfo("Asia/Seoul"))
    assert (
        english == "[1] 엔비디아 17% 급락 — Reuters · 27 Jan 15:30 EST · https://news.example.kr/1"
    )
    assert (
        korean == "[1] 엔비디아 17% 급락 — Reuters · 1월 28일 05:30 KST · https://news.example.kr/1"
    )
