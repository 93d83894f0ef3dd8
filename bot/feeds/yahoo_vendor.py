"""The Yahoo vendor (`[feed] vendor = "yahoo"`): the yfinance poll serves quotes and daily
bars, the push stream (`[feed] stream`) pushes prints."""

from __future__ import annotations

from bot.feeds.vendors import VendorFeeds
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.settings import FeedSettings


def build_vendor(settings: FeedSettings) -> VendorFeeds:
    """Yahoo's poll (quotes and daily bars) and, when enabled, its push stream."""
    poll = YahooPollFeed()
    stream = None
    if settings.stream:
        from bot.feeds.yahoo_stream import YahooStreamFeed

        stream = YahooStreamFeed(settings.stream_url)
    return VendorFeeds(poll, stream, poll)
