"""Headlines: what a news item is, which symbols it is about, and which few a card shows.

Platform-neutral: the Yahoo and RSS adapters (`bot/news/`) turn what they fetch into
`Headline`s; this module decides relevance (a card symbol, its alias, its Korean name or a
configured company name in the title or summary, or Yahoo's related tickers), keeps what was
published in the window before the print, merges duplicates (the same link, or near-identical
titles) and orders the rest newest first. A card shows them as news, never as expert views.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.domain.cards import CardField
from bot.domain.i18n import Locale, format_short_date, t
from bot.domain.symbols import Instrument, korean_names

TITLE_LIMIT = 160
"""Characters of a title a card shows (the rest is cut with an ellipsis)."""
LINK_LIMIT = 300
"""A longer link is left off the card rather than cut (a cut link is a broken one)."""
SUMMARY_LIMIT = 300
NEAR_IDENTICAL = 0.9
"""Two normalised titles at least this similar (difflib ratio) are one story."""
_TRACKING = ("utm_", "guccounter", "guce_", "ncid")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def _hangul(text: str) -> bool:
    return bool(_HANGUL.search(text))


def plain_text(text: str, limit: int) -> str:
    """Tags stripped, whitespace collapsed, cut to `limit` characters (with …); otherwise the
    text as its publisher wrote it (NFC only)."""
    flat = _SPACES.sub(" ", _TAGS.sub(" ", unicodedata.normalize("NFC", text or ""))).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Headline:
    """One news item as a source reported it: title, publisher, time (UTC), link."""

    title: str
    publisher: str
    published_at: datetime
    link: str
    source: str
    """Where Sputnik got it: `Yahoo Finance` or the feed's name."""
    summary: str = ""
    tickers: tuple[str, ...] = ()
    """The symbols the source itself relates the item to (Yahoo's related tickers)."""

    def to_json(self) -> dict[str, Any]:
        """Language-neutral JSON, as stored with an alert event or a digest."""
        doc: dict[str, Any] = {
            "title": self.title,
            "publisher": self.publisher,
            "published_at": self.published_at.astimezone(UTC).isoformat(),
            "link": self.link,
            "source": self.source,
        }
        if self.summary:
            doc["summary"] = self.summary
        if self.tickers:
            doc["tickers"] = list(self.tickers)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Headline | None:
        """Inverse of `to_json` (None for a document it cannot read)."""
        try:
            return cls(
                title=str(doc["title"]),
                publisher=str(doc.get("publisher", "")),
                published_at=datetime.fromisoformat(str(doc["published_at"])),
                link=str(doc.get("link", "")),
                source=str(doc.get("source", "")),
                summary=str(doc.get("summary", "")),
                tickers=tuple(str(s) for s in doc.get("tickers", ())),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class NewsSubject:
    """A symbol on a card, with every name a headline may call it by."""

    symbol: str
    """The Yahoo symbol (`^SOX`, `NVDA`, `000660.KS`): what Yahoo's news is asked for."""
    label: str
    tickers: tuple[str, ...] = ()
    """Upper-case codes matched as whole words, case-sensitive (`NVDA`, `SOX`, `000660`)."""
    names: tuple[str, ...] = ()
    """Names matched case-insensitively (`Nvidia`); Korean ones inside words (`엔비디아가`)."""
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        patterns = [
            re.compile(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])")
            for code in self.tickers
        ]
        for name in self.names:
            if _hangul(name):
                patterns.append(re.compile(re.escape(name)))
            else:
                patterns.append(
                    re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", re.IGNORECASE)
                )
        object.__setattr__(self, "_patterns", tuple(patterns))

    def mentioned_in(self, text: str) -> bool:
        """True when `text` names this subject."""
        flat = unicodedata.normalize("NFKC", text)
        return any(pattern.search(flat) for pattern in self._patterns)

    def about(self, item: Headline) -> bool:
        """Yahoo relates the item to this symbol, or its title or summary names it."""
        related = {ticker.upper() for ticker in item.tickers}
        if self.symbol.upper() in related or self.label.upper() in related:
            return True
        return self.mentioned_in(item.title) or self.mentioned_in(item.summary)


def news_subject(instrument: Instrument, names: Mapping[str, Sequence[str]]) -> NewsSubject:
    """The subject for an instrument: its symbol, alias, Korean names (`names_ko.toml` and
    `name_ko`) and the company names `[news.names]` gives for its alias or symbol."""
    symbol, label = instrument.symbol, instrument.label
    bare = symbol.lstrip("^")
    tickers = {bare.upper(), label.upper()}
    if "." in bare:
        tickers.add(bare.split(".")[0].upper())  # 000660.KS → 000660
    wanted = {symbol.upper(), label.upper(), bare.upper()}
    spoken = [name for name, target in korean_names().items() if target.upper() in wanted]
    if instrument.name_ko:
        spoken.append(instrument.name_ko)
    for key in (label, symbol, bare):
        spoken += [str(name) for name in names.get(key, ())]
    return NewsSubject(
        symbol=symbol,
        label=label,
        tickers=tuple(sorted(t for t in tickers if t)),
        names=tuple(dict.fromkeys(n for n in spoken if n and n.upper() not in tickers)),
    )


def _link_key(link: str) -> str:
    """A link without scheme, `www.`, tracking parameters, fragment or trailing slash."""
    parts = urlsplit(link.strip())
    host = parts.netloc.lower().removeprefix("www.")
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING)]
    return urlunsplit(("", host, parts.path.rstrip("/"), urlencode(query), ""))


def _title_key(title: str) -> str:
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


def same_story(one: Headline, other: Headline) -> bool:
    """The same link, or titles that differ only in punctuation, case or a word or two (and
    state the same figures)."""
    if one.link and other.link and _link_key(one.link) == _link_key(other.link):
        return True
    a, b = _title_key(one.title), _title_key(other.title)
    if not a or not b:
        return False
    if a == b:
        return True
    # Titles that state different figures are different reports, however alike the words.
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= NEAR_IDENTICAL


def merge_duplicates(items: Iterable[Headline]) -> list[Headline]:
    """Newest first, each story once (the newest report of it kept)."""
    kept: list[Headline] = []
    for item in sorted(items, key=lambda h: h.published_at, reverse=True):
        if not any(same_story(item, seen) for seen in kept):
            kept.append(item)
    return kept


def select_headlines(
    items: Iterable[Headline],
    subjects: Sequence[NewsSubject],
    *,
    before: datetime,
    since: datetime | None,
    limit: int,
) -> list[Headline]:
    """Up to `limit` relevant headlines published in `[since, before]`, newest first, each
    story once."""
    relevant = [
        item
        for item in items
        if item.published_at <= before
        and (since is None or item.published_at >= since)
        and item.title.strip()
        and any(subject.about(item) for subject in subjects)
    ]
    return merge_duplicates(relevant)[: max(limit, 0)]


@dataclass(frozen=True)
class NewsBatch:
    """What the sources held by a deadline, and which sources were down or late (their
    headlines are missing)."""

    items: list[Headline]
    unavailable: tuple[str, ...] = ()


def headlines_from_payload(doc: Any) -> list[Headline]:
    """The headlines stored in an event's or digest's payload (`{"items": [...]}`)."""
    if not isinstance(doc, Mapping):
        return []
    found = (Headline.from_json(item) for item in doc.get("items", ()) if isinstance(item, Mapping))
    return [item for item in found if item is not None]


def news_payload(items: Sequence[Headline], fetched_at: datetime) -> dict[str, Any]:
    """What is stored with an alert event or a digest: the headlines and when they were read."""
    return {
        "fetched_at": fetched_at.astimezone(UTC).isoformat(),
        "items": [h.to_json() for h in items],
    }


def headline_time(moment: datetime, locale: Locale, zone: ZoneInfo) -> str:
    """`27 Jan 14:32 EST` / `1월 28일 04:32 KST`, in the channel's zone."""
    local = moment.astimezone(zone)
    return f"{format_short_date(local.date(), locale)} {local:%H:%M} {local.tzname() or ''}".strip()


def headline_lines(items: Sequence[Headline], locale: Locale, zone: ZoneInfo) -> str:
    """One line each: `[1] title — publisher · time · link` (the title as published)."""
    lines = []
    for number, item in enumerate(items, start=1):
        parts = [headline_time(item.published_at, locale, zone)]
        if item.link and len(item.link) <= LINK_LIMIT:
            parts.append(item.link)
        title = plain_text(item.title, TITLE_LIMIT)
        publisher = item.publisher or item.source
        lines.append(f"[{number}] {title} — {publisher} · " + " · ".join(parts))
    return "\n".join(lines)


def headlines_field(
    items: Sequence[Headline], locale: Locale, zone: ZoneInfo, *, key: str = "news.field"
) -> CardField | None:
    """The card's headlines section, labelled as news (None when there are none)."""
    if not items:
        return None
    return CardField(t(key, locale), headline_lines(items, locale, zone), inline=False)


def replay_news_field(locale: Locale, *, key: str = "news.field") -> CardField:
    """What a replayed card says instead of headlines: there is no archive to draw from."""
    return CardField(t(key, locale), t("news.replay_note", locale), inline=False)
