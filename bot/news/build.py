"""Builds the news desk from `[news]`, `[summary]` and the environment."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bot.news.service import NewsService, ProblemLog, RealTime
from bot.news.yahoo import SessionFactory, YahooNews
from bot.ports import NewsSource
from bot.settings import Settings

if TYPE_CHECKING:
    import aiohttp

SUMMARY_KEY_ENV = "SPUTNIK_SUMMARY_API_KEY"
"""Where the synthesis model's API key comes from (never from the TOML)."""


class SharedSession:
    """One aiohttp session for every feed and the model, opened on first use."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the session if it was opened."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


def build_news(
    config: Settings,
    env: Mapping[str, str],
    *,
    yahoo_session: SessionFactory | None = None,
    real_time: RealTime = time.monotonic,
) -> NewsService | None:
    """The desk for `[news]`, `[news_names]` and `[summary]` (None when `[news] enabled =
    false`); tests hand in the session yfinance talks through and the real-time source of
    caches and logs."""
    settings, summary = config.news, config.summary
    if not settings.enabled:
        return None
    problems = ProblemLog(settings.problem_log_seconds, real_time)
    http = SharedSession()
    parsing = ThreadPoolExecutor(2, thread_name_prefix="news-parse")
    sources: list[NewsSource] = []
    closers: list[Any] = [http.close, lambda: parsing.shutdown(wait=False, cancel_futures=True)]
    if settings.yahoo:
        yahoo = YahooNews(yahoo_session, timeout=settings.fetch_timeout_seconds)
        sources.append(yahoo)
        closers.append(yahoo.close)
    if settings.feeds:  # aiohttp and feedparser are loaded only for a bot that reads feeds
        from bot.news.feeds import FeedSource

        sources += [
            FeedSource(
                feed,
                http,
                parsing,
                timeout=settings.fetch_timeout_seconds,
                max_bytes=settings.max_feed_bytes,
                max_items=settings.max_feed_items,
                report=problems.report,
            )
            for feed in settings.feeds
        ]
    summarizer = None
    if summary.enabled:
        from bot.news.summary import ChatCompletions

        summarizer = ChatCompletions(
            summary.base_url,
            summary.model,
            http,
            api_key=env.get(SUMMARY_KEY_ENV, ""),
            max_tokens=summary.max_tokens,
            temperature=summary.temperature,
        )
    return NewsService(
        settings,
        sources,
        names=config.news_names,
        summary=summary,
        summarizer=summarizer,
        problems=problems,
        real_time=real_time,
        on_close=closers,
    )
