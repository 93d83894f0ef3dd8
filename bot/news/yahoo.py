"""Yahoo Finance news through yfinance: `Ticker.get_news` and `Search`, on their own threads.

yfinance is blocking, so each fetch runs on a daemon thread of its own, at most `threads` at a
time (never on the event loop, never in the default executor the charts use); a hung request
holds its thread until yfinance's own timeout while the desk stopped waiting at its budget,
and never holds up the process's exit. `Ticker.get_news`
answers the new `{"id", "content": {...}}` items, `Search` the flat ones with Yahoo's
`relatedTickers`; both become `Headline`s carrying the tickers Yahoo relates them to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.domain.news import SUMMARY_LIMIT, Headline, plain_text
from bot.news.service import SourceProblem

log = logging.getLogger(__name__)

SOURCE = "Yahoo Finance"
T = TypeVar("T")
SessionFactory = Callable[[], Any]
"""Builds the `curl_cffi.requests.Session` handed to yfinance (None: yfinance's own)."""


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _url(*candidates: Any) -> str:
    for candidate in candidates:
        if isinstance(candidate, Mapping):
            candidate = candidate.get("url")
        if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
            return candidate
    return ""


def yahoo_headline(item: Mapping[str, Any], symbol: str | None = None) -> Headline | None:
    """One Yahoo news item (the `content` form of `Ticker.news` or the flat form of
    `Search.news`) as a Headline; None when it has no title or time."""
    content = item.get("content") if isinstance(item.get("content"), Mapping) else item
    assert isinstance(content, Mapping)
    title = plain_text(str(content.get("title") or ""), 500)
    published = _moment(content.get("pubDate") or content.get("displayTime"))
    published = published or _moment(item.get("providerPublishTime"))
    if not title or published is None:
        return None
    provider = content.get("provider")
    publisher = provider.get("displayName") if isinstance(provider, Mapping) else None
    publisher = str(publisher or item.get("publisher") or SOURCE)
    link = _url(content.get("canonicalUrl"), content.get("clickThroughUrl"), item.get("link"))
    finance = content.get("finance")
    stock = finance.get("stockTickers") if isinstance(finance, Mapping) else None
    tickers = [str(t.get("symbol")) for t in stock or [] if isinstance(t, Mapping)]
    tickers += [str(t) for t in item.get("relatedTickers") or [] if isinstance(t, str)]
    if symbol and "content" in item:
        tickers.append(symbol)  # Ticker.news: Yahoo's own stream for this symbol
    summary = str(content.get("summary") or content.get("description") or "")
    return Headline(
        title=title,
        publisher=publisher,
        published_at=published,
        link=link,
        source=SOURCE,
        summary=plain_text(summary, SUMMARY_LIMIT),
        tickers=tuple(dict.fromkeys(t for t in tickers if t)),
    )


def yahoo_headlines(items: Sequence[Any], symbol: str | None = None) -> list[Headline]:
    """Every readable item of a yfinance news list."""
    found = (yahoo_headline(i, symbol) for i in items if isinstance(i, Mapping))
    return [h for h in found if h is not None]


def _forget_search_cache(yf: Any) -> None:
    """yfinance caches every `Search` GET for the life of the process (an lru_cache on
    `YfData.cache_get`): drop it, so a search after the desk's cache expired is a real one."""
    holder = getattr(getattr(yf, "data", None), "YfData", None)
    clear = getattr(getattr(holder, "cache_get", None), "cache_clear", None)
    if callable(clear):
        clear()


async def in_daemon_thread(function: Callable[[str], T], argument: str) -> T:
    """`function(argument)` on a new daemon thread, awaited without blocking the loop."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return  # the caller stopped waiting (cancelled)
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = function(argument), None
        except Exception as exc:  # handed to the awaiting coroutine
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="news-yahoo", daemon=True).start()
    return await done


class YahooProblem(SourceProblem):
    """yfinance gave no news and said why on its logger (it does not raise by default)."""


class _Held(logging.Filter):
    """Holds back the `yfinance` logger's lines logged on a thread that is fetching news:
    they become the fetch's failure reason (logged once an hour by the desk), not a line
    per request."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def start(self) -> None:
        self._local.lines = []

    def stop(self) -> list[str]:
        lines: list[str] = getattr(self._local, "lines", None) or []
        self._local.lines = None
        return lines

    def filter(self, record: logging.LogRecord) -> bool:
        lines = getattr(self._local, "lines", None)
        if lines is None:
            return True
        if record.levelno >= logging.WARNING:
            lines.append(record.getMessage())
        return False


class YahooNews:
    """`NewsSource` over yfinance: `Ticker(symbol).get_news()` then `Search(symbol).news`."""

    name = SOURCE
    per_symbol = True

    def __init__(
        self,
        session_factory: SessionFactory | None = None,
        *,
        count: int = 10,
        timeout: float = 10.0,
        threads: int = 4,
        search: bool = True,
    ) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self.count = count
        self.timeout = timeout
        self.search = search
        self._slots = threads
        self._semaphore: asyncio.Semaphore | None = None
        self._held = _Held()
        logging.getLogger("yfinance").addFilter(self._held)

    def _http(self) -> Any:
        if self._session is None and self._session_factory is not None:
            self._session = self._session_factory()
        return self._session

    def fetch_blocking(self, symbol: str) -> list[Headline]:
        """Both yfinance calls for `symbol` (blocking). YahooProblem when neither gave an item
        and yfinance logged why; whatever yfinance raises otherwise."""
        self._held.start()
        try:
            items = self._both(symbol)
        finally:
            said = self._held.stop()
        if not items and said:
            raise YahooProblem(f"Yahoo said: {said[0][:160]}")
        return items

    def _both(self, symbol: str) -> list[Headline]:
        import yfinance as yf

        session = self._http()
        items = yahoo_headlines(
            yf.Ticker(symbol, session=session).get_news(count=self.count, tab="news"), symbol
        )
        if self.search:
            _forget_search_cache(yf)
            found = yf.Search(
                symbol,
                max_results=1,
                news_count=self.count,
                lists_count=0,
                recommended=0,
                include_cb=False,
                session=session,
                timeout=self.timeout,
                raise_errors=True,
            )
            items += yahoo_headlines(found.news)
        return items

    async def fetch(self, symbol: str | None) -> list[Headline]:
        """The symbol's news, fetched on this adapter's threads."""
        if not symbol:
            return []
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._slots)
        async with self._semaphore:
            return await in_daemon_thread(self.fetch_blocking, symbol)

    def close(self) -> None:
        """Stop holding back yfinance's log lines; a request still hanging ends on its own."""
        logging.getLogger("yfinance").removeFilter(self._held)
