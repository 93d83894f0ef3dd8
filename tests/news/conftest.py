"""Fixtures for the news tests: a loopback Yahoo with news, a feed server, desks built from
settings exactly as the bot builds them (`build_news`), yfinance pointed at the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import yfinance as yf

from bot.news.build import build_news
from bot.news.service import NewsService
from bot.settings import build_settings
from tests.fakes.news_fakes import FeedFake, YahooNewsFake
from tests.fakes.yahoo_fake import LoopbackSession

PRINT = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
"""The 2025-01-27 close, as the shipped history prints it."""

MakeDesk = Callable[..., NewsService]


class Ticking:
    """The desk's real-time source (cache ages, log throttling), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def yahoo_news(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YahooNewsFake]:
    """A loopback Yahoo that answers yfinance's news requests."""
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf-tz-news")))
    fake = YahooNewsFake().start()
    yield fake
    if fake.hold is not None:
        fake.hold.set()
    fake.stop()


@pytest.fixture
def yahoo(yahoo_news: YahooNewsFake) -> Iterator[YahooNewsFake]:
    """The Yahoo news fake with nothing served and nothing asked yet."""
    yahoo_news.ticker_news.clear()
    yahoo_news.search_news.clear()
    yahoo_news.news_status = 200
    yahoo_news.news_asked.clear()
    yahoo_news.held.clear()
    yahoo_news.hold = None
    yield yahoo_news
    if yahoo_news.hold is not None:
        yahoo_news.hold.set()  # let a held request go before the next test


@pytest.fixture
async def feeds() -> AsyncIterator[FeedFake]:
    """RSS/Atom feeds on loopback."""
    fake = await FeedFake().start()
    yield fake
    await fake.stop()


@pytest.fixture
def ticking() -> Ticking:
    return Ticking()


@pytest.fixture
async def make_desk(yahoo: YahooNewsFake, ticking: Ticking) -> AsyncIterator[MakeDesk]:
    """Builds desks from `[news]`/`[summary]` tables over the fakes (closed afterwards)."""
    built: list[NewsService] = []

    def make(
        feeds: Sequence[str | Mapping[str, str]] = (),
        *,
        yahoo_news: bool = True,
        summary: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        **news: Any,
    ) -> NewsService:
        settings = build_settings(
            {
                "news": {"yahoo": yahoo_news, "feeds": list(feeds), **news},
                "summary": dict(summary or {}),
            }
        )
        desk = build_news(
            settings,
            env or {},
            yahoo_session=lambda: LoopbackSession(yahoo.port),
            real_time=ticking,
        )
        assert desk is not None
        built.append(desk)
        return desk

    yield make
    for desk in built:
        await desk.close()
