"""The news desk: every source asked at once, cached per symbol, waited on for a budget only.

`gather` asks each per-symbol source (Yahoo) for each symbol and each feed once, reuses what
was fetched less than `cache_seconds` ago and any fetch already under way, and returns what is
in by the deadline. A fetch that is not in by then is left out (and logged, once per source per
`problem_log_seconds`); it goes on in the background and fills the cache for the next card, so
a slow source never holds a card back and is never asked twice at once. A source that fails
is cached as empty for the same time. Nothing here blocks the event loop: Yahoo runs on the
adapters' own threads, feeds on aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.domain.news import Headline, NewsBatch, NewsSubject, news_subject, select_headlines
from bot.domain.symbols import Instrument
from bot.ports import NewsSource, Summarizer
from bot.settings import NewsTable, SummaryTable

log = logging.getLogger(__name__)

RealTime = Callable[[], float]


class SourceProblem(Exception):
    """A source could not be read; the message says why in a few words (no token, no trace)."""


class SummaryError(Exception):
    """The synthesis model gave no usable answer (timeout, HTTP error, odd JSON)."""


class ProblemLog:
    """One warning per source per `interval` real seconds: why cards go out without it."""

    def __init__(self, interval: float, real_time: RealTime = time.monotonic) -> None:
        self.interval = interval
        self.real_time = real_time
        self._last: dict[str, float] = {}
        self.reported: list[tuple[str, str]] = []
        """Every (source, reason) logged, in order (what operators saw)."""

    def report(self, source: str, reason: str, *, left_out: bool = True) -> bool:
        """Log `reason` for `source` unless it was logged less than `interval` ago
        (`left_out`: its headlines are missing from the cards, else only a note)."""
        now = self.real_time()
        key = source if left_out else f"{source}\0note"
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._last[key] = now
        self.reported.append((source, reason))
        if left_out:
            log.warning("news source %s: %s; cards go out without its headlines", source, reason)
        else:
            log.warning("news source %s: %s", source, reason)
        return True


def describe_problem(exc: BaseException) -> str:
    """A short, token-free reason for a failed fetch."""
    if isinstance(exc, SourceProblem):
        return str(exc)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class NewsService:
    """The `NewsDesk` port: sources, caches and budgets (built by `bot.news.build_news`)."""

    def __init__(
        self,
        settings: NewsTable,
        sources: Sequence[NewsSource],
        *,
        names: Mapping[str, Sequence[str]] | None = None,
        summary: SummaryTable | None = None,
        summarizer: Summarizer | None = None,
        problems: ProblemLog | None = None,
        real_time: RealTime = time.monotonic,
        on_close: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.settings = settings
        self.summary = summary or SummaryTable()
        self.names: Mapping[str, Sequence[str]] = names or {}
        """`[news_names]`: company names by alias or symbol."""
        self.summarizer = summarizer
        self.sources = list(sources)
        self.problems = problems or ProblemLog(settings.problem_log_seconds, real_time)
        self.real_time = real_time
        self.fetches: Counter[tuple[str, str]] = Counter()
        """Fetches started, by (source, symbol): what the cache and the budget saved."""
        self._cache: dict[tuple[str, str], tuple[float, list[Headline] | None]] = {}
        """(when, items) per (source, symbol); items None: that fetch failed."""
        self._inflight: dict[tuple[str, str], asyncio.Task[list[Headline] | None]] = {}
        self._on_close = list(on_close)

    @property
    def summarizing(self) -> bool:
        """True when a synthesis model is configured."""
        return self.summarizer is not None and self.summary.enabled

    @property
    def source_names(self) -> list[str]:
        """Where headlines come from (`Yahoo Finance`, each feed's name)."""
        return [source.name for source in self.sources]

    def subject(self, instrument: Instrument) -> NewsSubject:
        """The names a headline may call `instrument` by (`[news_names]` included)."""
        return news_subject(instrument, self.names)

    def deadline(self) -> float:
        """The event loop's time `budget_seconds` from now."""
        return asyncio.get_running_loop().time() + self.settings.budget_seconds

    async def gather(self, symbols: Sequence[str], *, deadline: float | None = None) -> NewsBatch:
        """Every headline the sources hold for `symbols`, as far as it is in by `deadline`,
        and which sources were down or late."""
        if not self.settings.enabled:
            return NewsBatch([])
        loop = asyncio.get_running_loop()
        end = self.deadline() if deadline is None else deadline
        wanted = list(dict.fromkeys(symbols))[: self.settings.max_symbols]
        found: list[Headline] = []
        missing: list[str] = []
        pending: dict[asyncio.Task[list[Headline] | None], str] = {}
        for source in self.sources:
            for symbol in wanted if source.per_symbol else [""]:
                key = (source.name, symbol)
                cached = self._cache.get(key)
                if cached is not None and self.real_time() - cached[0] < self.ttl:
                    if cached[1] is None:
                        missing.append(source.name)
                    found += cached[1] or []
                    continue
                task = self._inflight.get(key)
                if task is None:
                    task = asyncio.create_task(self._fetch(source, symbol, key))
                    self._inflight[key] = task
                pending[task] = source.name
        if pending:
            done, late = await asyncio.wait(pending, timeout=max(0.0, end - loop.time()))
            for task in done:
                items = task.result()
                if items is None:
                    missing.append(pending[task])
                found += items or []
            for name in sorted({pending[task] for task in late}):
                budget = self.settings.budget_seconds
                self.problems.report(name, f"not in within the {budget:g} s budget; left out")
                missing.append(name)
        return NewsBatch(found, tuple(dict.fromkeys(missing)))

    @property
    def ttl(self) -> float:
        """How long a fetch's result (or failure) is reused: `cache_seconds`."""
        return self.settings.cache_seconds

    async def _fetch(
        self, source: NewsSource, symbol: str, key: tuple[str, str]
    ) -> list[Headline] | None:
        """The source's items, cached; None (cached too) when it failed."""
        self.fetches[key] += 1
        items: list[Headline] | None
        try:
            items = await source.fetch(symbol or None)
        except asyncio.CancelledError:
            self._inflight.pop(key, None)
            raise
        except Exception as exc:  # any failure of any source: that source is left out
            self.problems.report(source.name, describe_problem(exc))
            items = None
        self._cache[key] = (self.real_time(), items)
        self._inflight.pop(key, None)
        return items

    async def headlines(
        self,
        subjects: Sequence[NewsSubject],
        *,
        before: datetime,
        since: datetime | None,
        limit: int,
        deadline: float | None = None,
    ) -> NewsBatch:
        """Up to `limit` headlines about `subjects` published in `[since, before]`."""
        pool = await self.gather([s.symbol for s in subjects], deadline=deadline)
        chosen = select_headlines(pool.items, subjects, before=before, since=since, limit=limit)
        return NewsBatch(chosen, pool.unavailable)

    async def complete(self, messages: Sequence[Mapping[str, str]], *, deadline: float) -> str:
        """The synthesis model's answer, within what is left of the budget (SummaryError)."""
        if self.summarizer is None:
            raise SummaryError("no synthesis model configured")
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise SummaryError("no time left in the budget")
        try:
            return await asyncio.wait_for(self.summarizer.complete(messages, left), left)
        except TimeoutError:
            raise SummaryError(
                f"no answer within the {self.settings.budget_seconds:g} s budget"
            ) from None

    async def close(self) -> None:
        """Stop fetches still under way and release the adapters' connections and threads."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for close in self._on_close:
            result = close()
            if asyncio.iscoroutine(result):
                await result
