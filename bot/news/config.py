"""`[news]` and `[summary]`: read and checked in one place (unknown keys and wrong types refused).

`news_settings(raw)` is the only reader of these tables; when the typed settings model lands
it becomes two validated tables and this function reads them from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.settings import SettingsError

SUMMARY_KEY_ENV = "SPUTNIK_SUMMARY_API_KEY"
"""Where the synthesis model's API key comes from (never from the TOML)."""


@dataclass(frozen=True)
class FeedConfig:
    """One RSS/Atom feed: its URL and, optionally, the publisher name cards show."""

    url: str
    publisher: str = ""


@dataclass(frozen=True)
class NewsSettings:
    """`[news]`: where headlines come from and how long Sputnik waits for them."""

    enabled: bool = True
    yahoo: bool = True
    feeds: tuple[FeedConfig, ...] = ()
    budget_seconds: float = 3.0
    cache_seconds: float = 300.0
    lookback_hours: float = 24.0
    max_items: int = 3
    command_items: int = 5
    fetch_timeout_seconds: float = 10.0
    max_feed_bytes: int = 5_000_000
    max_feed_items: int = 200
    max_symbols: int = 6
    problem_log_seconds: float = 3600.0
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Company names by alias or Yahoo symbol (`NVDA = ["Nvidia"]`), for relevance."""


@dataclass(frozen=True)
class SummarySettings:
    """`[summary]`: the OpenAI-compatible model behind the synthesis (off unless both set)."""

    base_url: str = ""
    model: str = ""
    languages: tuple[str, ...] = ("ko", "en")
    reserve_seconds: float = 1.5
    max_tokens: int = 300
    temperature: float = 0.0

    @property
    def enabled(self) -> bool:
        """On when both `base_url` and `model` are set."""
        return bool(self.base_url and self.model)


_POSITIVE = {
    "budget_seconds",
    "cache_seconds",
    "lookback_hours",
    "max_items",
    "command_items",
    "fetch_timeout_seconds",
    "max_feed_bytes",
    "max_feed_items",
    "max_symbols",
    "problem_log_seconds",
    "reserve_seconds",
    "max_tokens",
}


def _unknown(table: str, key: str, known: list[str]) -> SettingsError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" — did you mean {close[0]}?" if close else f" (known: {', '.join(sorted(known))})"
    return SettingsError(f"[{table}] {key}: unknown key{hint}")


def _value(table: str, key: str, value: Any, default: Any) -> Any:
    where = f"[{table}] {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SettingsError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{where}: expected a number, got {value!r}")
        if isinstance(default, int) and not isinstance(value, int):
            raise SettingsError(f"{where}: expected a whole number, got {value!r}")
        if key in _POSITIVE and value <= 0:
            raise SettingsError(f"{where}: must be above zero, got {value!r}")
        if value < 0:
            raise SettingsError(f"{where}: must not be negative, got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SettingsError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _feeds(value: Any) -> tuple[FeedConfig, ...]:
    if not isinstance(value, list):
        raise SettingsError(f"[news] feeds: expected a list of URLs, got {value!r}")
    feeds = []
    for entry in value:
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, Mapping):
            raise SettingsError(f"[news] feeds: expected a URL or {{ url = ... }}, got {entry!r}")
        for key in entry:
            if key not in ("url", "publisher"):
                raise _unknown("news.feeds", str(key), ["url", "publisher"])
        url, publisher = entry.get("url"), entry.get("publisher", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SettingsError(f"[news] feeds: {url!r} is not an http(s) URL")
        if not isinstance(publisher, str):
            raise SettingsError(f"[news] feeds: publisher must be text, got {publisher!r}")
        feeds.append(FeedConfig(url, publisher))
    return tuple(feeds)


def _names(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise SettingsError(f"[news.names] expected a table of name lists, got {value!r}")
    names = {}
    for key, listed in value.items():
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            raise SettingsError(f"[news.names] {key}: expected a list of names, got {listed!r}")
        names[str(key)] = tuple(listed)
    return names


def news_settings(raw: Mapping[str, Any]) -> tuple[NewsSettings, SummarySettings]:
    """`[news]` and `[summary]` of the merged configuration, checked (SettingsError)."""
    news_table = raw.get("news", {}) or {}
    summary_table = raw.get("summary", {}) or {}
    news_known = [f.name for f in fields(NewsSettings)]
    values: dict[str, Any] = {}
    for key, value in news_table.items():
        if key not in news_known:
            raise _unknown("news", key, news_known)
        if key == "feeds":
            values[key] = _feeds(value)
        elif key == "names":
            values[key] = _names(value)
        else:
            values[key] = _value("news", key, value, getattr(NewsSettings(), key))
    summary_known = [f.name for f in fields(SummarySettings)]
    summary: dict[str, Any] = {}
    for key, value in summary_table.items():
        if key in ("api_key", "key", "token"):
            raise SettingsError(
                f"[summary] {key}: the API key comes from the environment only "
                f"({SUMMARY_KEY_ENV}); remove it from the file"
            )
        if key not in summary_known:
            raise _unknown("summary", key, summary_known)
        if key == "languages":
            if not isinstance(value, list) or not set(value) <= {"ko", "en"} or not value:
                raise SettingsError(f'[summary] languages: a list of "ko" and "en", got {value!r}')
            summary[key] = tuple(value)
        else:
            summary[key] = _value("summary", key, value, getattr(SummarySettings(), key))
    return NewsSettings(**values), SummarySettings(**summary)
