"""Market-data vendors by name: `[feed] vendor` picks one, and its module builds the
adapters behind the quotes and daily-bars ports (docs/markets-and-vendors.md).

A vendor module offers `build_vendor(settings: FeedSettings) -> VendorFeeds`; it is
imported only when chosen, so an unused vendor's library is never loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings.model import VENDORS

if TYPE_CHECKING:
    from bot.ports import DailyBars, QuoteFeed
    from bot.settings import FeedSettings


@dataclass(frozen=True)
class VendorFeeds:
    """One vendor's adapters: polled quotes, its push stream (None: polls only) and its
    official daily bars."""

    quotes: QuoteFeed
    stream: QuoteFeed | None
    bars: DailyBars


def build_vendor(settings: FeedSettings) -> VendorFeeds:
    """The adapters of `[feed] vendor` (a name of the settings' `VENDORS`)."""
    module = importlib.import_module(VENDORS[settings.vendor])
    feeds: VendorFeeds = module.build_vendor(settings)
    return feeds
