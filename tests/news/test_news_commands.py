"""`/news SYMBOL` and /shock's headlines, through the real dispatcher, store and news desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.harness import Harness
from bot.services import Core
from tests.fakes.news_fakes import YahooNewsFake, search_item, ticker_item
from tests.news.conftest import PRINT, MakeDesk, Ticking
from tests.test_card_contract import assert_in_order, assert_within_room

NOW = PRINT + timedelta(hours=1)
"""An hour after the 2025-01-27 close: that session is the current one."""


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'news.db'}", now=NOW)
    yield bot
    await bot.close()


def serve(yahoo: YahooNewsFake) -> None:
    yahoo.ticker_news["NVDA"] = [
        ticker_item(
            "Nvidia sheds $589 billion as DeepSeek rattles AI trade",
            PRINT - timedelta(hours=2),
            publisher="Reuters",
            link="https://www.reuters.com/nvidia",
        ),
        ticker_item("Nvidia slides in late trading", PRINT + timedelta(minutes=20), publisher="AP"),
    ]
    yahoo.search_news["NVDA"] = [
        search_item(
            "엔비디아 17% 급락",
            PRINT - timedelta(minutes=30),
            publisher="연합뉴스",
            related=["NVDA"],
        )
    ]


def fields(card: object) -> dict[str, str]:
    return {f.name: f.value for f in card.fields}  # type: ignore[attr-defined]


async def test_news_lists_recent_headlines_with_publisher_time_and_link(
    harness: Harness, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    harness.services.news = make_desk()
    card = await harness.run("/news NVDA")
    assert card.title == "Headlines: NVDA"
    assert fields(card)["Headlines (news reports, not expert views)"].splitlines() == [
        "[1] Nvidia slides in late trading — AP · 27 Jan 21:20 UTC · "
        "https://finance.yahoo.com/news/" + yahoo.ticker_news["NVDA"][1]["id"] + ".html",
        "[2] 엔비디아 17% 급락 — 연합뉴스 · 27 Jan 20:30 UTC · "
        + yahoo.search_news["NVDA"][0]["link"],
        "[3] Nvidia sheds $589 billion as DeepSeek rattles AI trade — Reuters · 27 Jan 19:00 UTC"
        " · https://www.reuters.com/nvidia",
    ]
    assert "not expert views" in card.text
    assert card.footer.source == "News: Yahoo Finance" and card.footer.as_of == NOW


async def test_news_takes_a_korean_name_and_answers_a_korean_channel_in_korean(
    harness: Harness, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    harness.services.news = make_desk()
    await harness.run("/lang ko")
    card = await harness.run("/news 엔비디아")
    assert card.title == "뉴스 헤드라인: NVDA"
    lines = fields(card)["뉴스 헤드라인 (보도 내용이며 전문가 견해가 아님)"].splitlines()
    # Each headline as its publisher wrote it, with the time in Seoul.
    assert lines[0].startswith("[1] Nvidia slides in late trading — AP · 1월 28일 06:20 KST")
    assert lines[1].startswith("[2] 엔비디아 17% 급락 — 연합뉴스 · 1월 28일 05:30 KST")


async def test_news_for_an_unknown_symbol_is_a_friendly_reply_in_both_languages(
    harness: Harness, make_desk: MakeDesk
) -> None:
    harness.services.news = make_desk()
    card = await harness.run("/news NVDAA")
    assert "NVDAA" in card.text and "NVDA" in card.text.replace("NVDAA", "")
    await harness.run("/lang ko")
    korean = await harness.run("/news 엔비디야")
    assert "엔비디야" in korean.text
    assert "Traceback" not in korean.text + card.text


async def test_news_says_when_nothing_was_published_a_source_failed_or_news_is_off(
    harness: Harness, yahoo: YahooNewsFake, make_desk: MakeDesk, ticking: Ticking
) -> None:
    harness.services.news = make_desk()
    card = await harness.run("/news AVGO")
    assert card.text == "No headline about AVGO in the last 24 hours."
    yahoo.news_status = 500
    ticking.now += 301  # the cached answer has expired: Yahoo is asked again, and fails
    failing = await harness.run("/news AVGO")
    assert failing.text == (
        "No headline about AVGO in the last 24 hours.\n"
        "No answer in time from: Yahoo Finance (try again in a minute)"
    )
    harness.services.news = None
    off = await harness.run("/news AVGO")
    assert off.text == "This bot is set up without headlines."


async def test_shock_on_the_current_session_carries_headlines_before_what_followed(
    harness: Harness, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    harness.services.news = make_desk()
    card = await harness.run("/shock NVDA 2025-01-27")
    lines = fields(card)["Headlines (news reports, not expert views)"].splitlines()
    assert lines[0].startswith("[1] Nvidia slides in late trading") and len(lines) == 3
    assert card.fields[-1].name == "Headlines (news reports, not expert views)"
    view = card.text.split(" (")[0]
    assert_in_order(card, ["−16.97 %", "[1] Nvidia slides", view, "What followed", "[chart]"])
    assert_within_room(card)


async def test_shock_on_a_past_session_says_there_is_no_news_archive(
    harness: Harness, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    harness.services.news = make_desk()
    card = await harness.run("/shock NVDA 2025-01-24")
    assert fields(card)["Headlines (news reports, not expert views)"] == (
        "Headlines come only with the current session (there is no news archive)."
    )
    assert yahoo.news_asked == []


async def test_shock_without_news_is_unchanged(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    assert not any(f.name.startswith("Headlines") for f in card.fields)
