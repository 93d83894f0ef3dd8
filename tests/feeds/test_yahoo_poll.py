"""The poll through yfinance's own parsing against a loopback Yahoo, requests counted there."""

from __future__ import annotations

import logging

import pytest

from bot.feeds.yahoo_poll import YahooPollFeed
from tests.fakes.yahoo_fake import SymbolData, YahooFake, minute_bars

OPEN_0127 = 1_737_988_200  # 2025-01-27 09:30 New York
PRE_0127 = OPEN_0127 - 5400  # 08:00 New York


def _serve(
    fake: YahooFake, symbol: str, closes: list[float | None], start: int = OPEN_0127
) -> None:
    fake.symbols[symbol] = SymbolData({"1m": minute_bars(start, closes)})


async def test_one_poll_is_one_download_and_one_chart_request_per_symbol(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed
) -> None:
    symbols = ["NVDA", "AVGO", "SOXX", "DIA"]
    for symbol in symbols:
        _serve(fresh_yahoo, symbol, [100.0, 101.0])
    await poll_feed.fetch(symbols)  # warms the cookie, crumb and timezone caches
    fresh_yahoo.reset_counts()
    batch = await poll_feed.fetch(symbols)
    assert sorted(batch.prints) == sorted(symbols)
    assert fresh_yahoo.counts()["chart"] == len(symbols)
    assert fresh_yahoo.counts()["cookie"] == 0


async def test_the_last_real_minute_is_the_print_nan_rows_skipped(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed
) -> None:
    _serve(fresh_yahoo, "NVDA", [124.8, 120.0, 118.42, None])
    batch = await poll_feed.fetch(["NVDA"])
    nvda = batch.prints["NVDA"]
    assert nvda.price == pytest.approx(118.42)
    assert nvda.at.timestamp() == OPEN_0127 + 120
    assert nvda.market_session == "regular"
    assert nvda.open == pytest.approx(124.8)
    assert (nvda.low, nvda.high) == (pytest.approx(118.42), pytest.approx(124.8))


async def test_pre_market_minutes_are_pre_market_prints_without_an_open(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed
) -> None:
    _serve(fresh_yahoo, "SOXX", [215.0, 214.0], start=PRE_0127)
    soxx = (await poll_feed.fetch(["SOXX"])).prints["SOXX"]
    assert soxx.market_session == "pre" and soxx.open is None


async def test_an_unknown_symbol_and_an_all_nan_symbol_are_missing_with_their_reason(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed
) -> None:
    _serve(fresh_yahoo, "NVDA", [118.0])
    _serve(fresh_yahoo, "AVGO", [None, None])
    batch = await poll_feed.fetch(["NVDA", "AVGO", "NOPE"])
    assert set(batch.prints) == {"NVDA"}
    assert batch.missing["NOPE"] == "unknown_symbol"
    assert "AVGO" in batch.missing
    assert not batch.rate_limited


async def test_a_429_is_detected_from_the_empty_frame_and_the_logged_rate_limit_error(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, caplog: pytest.LogCaptureFixture
) -> None:
    _serve(fresh_yahoo, "NVDA", [118.0])
    fresh_yahoo.rate_limited = True
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        batch = await poll_feed.fetch(["NVDA", "SOXX"])
    assert batch.rate_limited and not batch.prints
    assert set(batch.missing.values()) == {"rate_limited"}
    assert any("RateLimit" in r.getMessage() for r in caplog.records)
    fresh_yahoo.rate_limited = False
    fresh_yahoo.reset_counts()
    recovered = await poll_feed.fetch(["NVDA"])
    assert "NVDA" in recovered.prints
    assert fresh_yahoo.counts()["crumb"] == 1  # a fresh crumb, not "Too Many Requests"
