"""Fixtures for the feed tests: one loopback Yahoo per session, a settable clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yfinance as yf

from bot.feeds.yahoo_poll import YahooPollFeed
from tests.fakes.yahoo_fake import LoopbackSession, YahooFake


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YahooFake]:
    """The loopback Yahoo; yfinance's timezone cache in a temporary directory."""
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf-tz")))
    fake = YahooFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def fresh_yahoo(yahoo: YahooFake) -> YahooFake:
    """The fake with no symbols, no rate limit and no requests counted yet."""
    yahoo.symbols.clear()
    yahoo.rate_limited = False
    yahoo.budget = None
    yahoo.clock = time.monotonic
    yahoo.reset_counts()
    return yahoo


@pytest.fixture
def poll_feed(yahoo: YahooFake) -> YahooPollFeed:
    """The real yfinance poll, its HTTP going to the fake."""
    return YahooPollFeed(lambda: LoopbackSession(yahoo.port), timeout=5)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "history-live"


def at(text: str) -> datetime:
    """A UTC moment from ISO text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
