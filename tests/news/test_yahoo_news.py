"""Yahoo Finance news through yfinance's own requests and parsing, against a loopback Yahoo."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import pytest

from bot.news.yahoo import YahooNews, yahoo_headlines
from tests.fakes.news_fakes import YahooNewsFake, search_item, ticker_item
from tests.fakes.yahoo_fake import LoopbackSession
from tests.news.conftest import PRINT, MakeDesk, Ticking


def serve_nvda(yahoo: YahooNewsFake) -> None:
    yahoo.ticker_news["NVDA"] = [
        ticker_item(
            "Nvidia sheds $589 billion as DeepSeek rattles AI trade",
            PRINT - timedelta(hours=2),
            publisher="Reuters",
            link="https://www.reuters.com/nvidia-deepseek",
            tickers=["NVDA", "AVGO"],
            summary="Shares fell 17%.",
        ),
        ticker_item("Nvidia's quiet morning", PRINT - timedelta(hours=9), publisher="Barron's"),
    ]
    yahoo.search_news["NVDA"] = [
        search_item(
            "Chip stocks slide; Nvidia leads losses",
            PRINT - timedelta(hours=1),
            publisher="Bloomberg",
            related=["NVDA", "^SOX"],
        ),
        # The Reuters story again, through Search (same link): merged on the card.
        search_item(
            "Nvidia sheds $589 billion as DeepSeek rattles AI trade",
            PRINT - timedelta(hours=2),
            publisher="Reuters",
            link="https://reuters.com/nvidia-deepseek/",
            related=["NVDA"],
        ),
    ]


def test_yfinance_ticker_news_and_search_become_headlines_with_yahoos_tickers(
    yahoo: YahooNewsFake,
) -> None:
    serve_nvda(yahoo)
    source = YahooNews(lambda: LoopbackSession(yahoo.port), timeout=5)
    try:
        items = source.fetch_blocking("NVDA")
    finally:
        source.close()
    assert yahoo.news_asked == [("ticker", "NVDA"), ("search", "NVDA")]
    first = items[0]
    assert first.title == "Nvidia sheds $589 billion as DeepSeek rattles AI trade"
    assert first.publisher == "Reuters"
    assert first.published_at == PRINT - timedelta(hours=2)
    assert first.link == "https://www.reuters.com/nvidia-deepseek"
    assert first.summary == "Shares fell 17%."
    assert set(first.tickers) == {"NVDA", "AVGO"}
    slide = next(h for h in items if h.publisher == "Bloomberg")
    assert slide.tickers == ("NVDA", "^SOX")
    assert slide.published_at == PRINT - timedelta(hours=1)


def test_an_item_without_a_title_or_a_time_is_skipped() -> None:
    assert (
        yahoo_headlines([{"content": {"title": "x"}}, {"title": "", "providerPublishTime": 1}])
        == []
    )


async def test_the_desk_asks_yahoo_once_per_symbol_and_serves_the_cache_for_five_minutes(
    yahoo: YahooNewsFake, make_desk: MakeDesk, ticking: Ticking, core: object
) -> None:
    serve_nvda(yahoo)
    desk = make_desk()
    from bot.services import Core

    assert isinstance(core, Core)
    nvda = desk.subject(core.market.symbols.resolve("NVDA"))
    since = PRINT - timedelta(hours=24)
    first = (await desk.headlines([nvda], before=PRINT, since=since, limit=3)).items
    again = (await desk.headlines([nvda], before=PRINT, since=since, limit=3)).items
    assert [h.publisher for h in first] == ["Bloomberg", "Reuters", "Barron's"]
    assert again == first
    assert yahoo.news_asked == [("ticker", "NVDA"), ("search", "NVDA")]
    ticking.now += 301  # past cache_seconds: asked again
    await desk.headlines([nvda], before=PRINT, since=since, limit=3)
    assert yahoo.news_asked.count(("ticker", "NVDA")) == 2


async def test_a_yahoo_that_never_answers_is_left_out_at_the_budget_and_logged_once(
    yahoo: YahooNewsFake, make_desk: MakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    serve_nvda(yahoo)
    yahoo.hold = threading.Event()  # every news request waits until the test lets it go
    desk = make_desk(budget_seconds=0.2)
    caplog.set_level(logging.WARNING, "bot.news")
    missed = await desk.gather(["NVDA"])
    assert missed.items == [] and missed.unavailable == ("Yahoo Finance",)
    assert yahoo.held.is_set()
    again = await desk.gather(["NVDA"])  # the same fetch is still under way: not asked again
    assert again.items == []
    assert yahoo.news_asked == [("ticker", "NVDA")]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "news source Yahoo Finance: not in within the 0.2 s budget; left out; "
        "cards go out without its headlines"
    ]
    # Let Yahoo answer: the fetch still under way fills the cache for the next card.
    yahoo.hold.set()
    loop = asyncio.get_running_loop()
    late = await desk.gather(["NVDA"], deadline=loop.time() + 30)
    assert {h.publisher for h in late.items} == {"Reuters", "Barron's", "Bloomberg"}
    assert yahoo.news_asked == [("ticker", "NVDA"), ("search", "NVDA")]


async def test_a_yahoo_error_is_a_log_line_and_no_headlines(
    yahoo: YahooNewsFake, make_desk: MakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    serve_nvda(yahoo)
    yahoo.news_status = 500
    desk = make_desk()
    caplog.set_level(logging.WARNING, "bot.news")
    failed = await desk.gather(["NVDA"])
    assert failed.items == [] and failed.unavailable == ("Yahoo Finance",)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("news source Yahoo Finance: Yahoo said: NVDA: Failed to retrieve")
    assert line.endswith("cards go out without its headlines")
