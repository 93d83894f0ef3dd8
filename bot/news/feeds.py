"""RSS and Atom feeds from `[news] feeds`: fetched with aiohttp, parsed by feedparser off the loop.

A feed is read with a hard timeout and a size cap; one with more than `max_feed_items` items is
cut before parsing (feedparser takes seconds over 10,000 items), keeping the first ones — feeds
list their newest first. feedparser decodes what the feed declares (EUC-KR Korean outlets
included). A feed that answers an error, an HTML page or something no parser reads raises
`FeedProblem`, which the desk logs once an hour and leaves out.
"""

from __future__ import annotations

import asyncio
import calendar
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.domain.news import SUMMARY_LIMIT, Headline, plain_text
from bot.news.service import SourceProblem
from bot.settings import FeedEntry

Report = Callable[..., object]
"""`ProblemLog.report(source, reason, left_out=False)`: a note, logged once an hour."""
SessionGetter = Callable[[], aiohttp.ClientSession]
_ITEM_START = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(?:item|entry)[\s>/]", re.IGNORECASE)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


class FeedProblem(SourceProblem):
    """The feed could not be read; the message says why (no token, no stack trace)."""


def feed_name(config: FeedEntry) -> str:
    """How logs and cards name a feed: its publisher, else its host and path (no query)."""
    if config.publisher:
        return config.publisher
    parts = urlsplit(config.url)
    return f"{parts.hostname or '?'}{parts.path}"


def trim_items(data: bytes, limit: int) -> tuple[bytes, bool]:
    """The document cut before its `limit + 1`-th item and closed again, and whether it was
    cut (a document with no more than `limit` items comes back as it was)."""
    starts = []
    for match in _ITEM_START.finditer(data):
        starts.append(match.start())
        if len(starts) > limit:
            break
    if len(starts) <= limit:
        return data, False
    head = data[: starts[limit]]
    opening = data[:4096]
    if re.search(rb"<(?:[A-Za-z0-9_]+:)?feed[\s>]", opening):
        tail = b"</feed>"
    elif b"<rdf:RDF" in opening:
        tail = b"</rdf:RDF>"
    else:
        tail = b"</channel></rss>"
    return head + tail, True


@dataclass(frozen=True)
class ParsedFeed:
    """What one feed document held: its headlines, or why it held none."""

    items: list[Headline]
    problem: str | None = None


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = entry.get(key)
        if stamp:
            return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    return None


def parse_feed(data: bytes, content_type: str, publisher: str, source: str) -> ParsedFeed:
    """Parse one (already trimmed) document with feedparser (blocking: run it off the loop)."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-type": content_type})
    name = publisher or str(parsed.feed.get("title") or "") or source
    items = []
    for entry in parsed.entries:
        title = plain_text(str(entry.get("title") or ""), 500)
        published = _published(entry)
        if not title or published is None:
            continue
        items.append(
            Headline(
                title=title,
                publisher=plain_text(name, 80),
                published_at=published,
                link=str(entry.get("link") or ""),
                source=source,
                summary=plain_text(str(entry.get("summary") or ""), SUMMARY_LIMIT),
            )
        )
    if items:
        return ParsedFeed(items)
    start = data[:2048].lower()
    if "html" in content_type.lower() or b"<html" in start or b"<!doctype html" in start:
        return ParsedFeed([], "not a feed (an HTML page)")
    if parsed.get("bozo"):
        reason = type(parsed.get("bozo_exception")).__name__
        return ParsedFeed([], f"malformed feed ({reason})")
    if parsed.entries:
        return ParsedFeed([], "no item has both a title and a date")
    return ParsedFeed([])  # an empty feed: nothing to say


class FeedSource:
    """`NewsSource` for one RSS/Atom feed."""

    per_symbol = False

    def __init__(
        self,
        config: FeedEntry,
        session: SessionGetter,
        executor: Executor,
        *,
        timeout: float = 10.0,
        max_bytes: int = 5_000_000,
        max_items: int = 200,
        report: Report | None = None,
    ) -> None:
        self.config = config
        self.name = feed_name(config)
        self._session = session
        self._executor = executor
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_items = max_items
        self._report = report

    async def _download(self) -> tuple[bytes, str]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Accept": ACCEPT, "User-Agent": "Sputnik news reader"}
        async with self._session().get(self.config.url, timeout=timeout, headers=headers) as answer:
            if answer.status != 200:
                raise FeedProblem(f"HTTP {answer.status}")
            data = await answer.content.read(self.max_bytes + 1)
            content_type = answer.headers.get("Content-Type", "")
        if len(data) > self.max_bytes:
            data = data[: self.max_bytes]
            self._note(f"larger than {self.max_bytes} bytes; read the first {self.max_bytes}")
        return data, content_type

    def _note(self, reason: str) -> None:
        if self._report is not None:
            self._report(self.name, reason, left_out=False)

    async def fetch(self, symbol: str | None = None) -> list[Headline]:
        """The feed's items (any symbol: relevance is decided per card)."""
        try:
            data, content_type = await self._download()
        except aiohttp.ClientResponseError as exc:
            raise FeedProblem(f"HTTP {exc.status}") from None
        except aiohttp.ClientError as exc:
            raise FeedProblem(f"unreachable ({type(exc).__name__})") from None
        except TimeoutError:
            raise FeedProblem(f"no answer within {self.timeout:g} s") from None
        trimmed, cut = trim_items(data, self.max_items)
        if cut:
            self._note(f"more than {self.max_items} items; read the first {self.max_items}")
        loop = asyncio.get_running_loop()
        parsed = await loop.run_in_executor(
            self._executor, parse_feed, trimmed, content_type, self.config.publisher, self.name
        )
        if parsed.problem is not None:
            raise FeedProblem(parsed.problem)
        return parsed.items
