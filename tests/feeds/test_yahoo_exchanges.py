"""The Yahoo fake speaks like Yahoo across exchanges, seasons and ranges, read by yfinance.

Sessions in each exchange's local time (Seoul, Tokyo, Amsterdam, New York in winter and
summer), `period1`/`period2` and `range` honoured, and a rate limit answered as Yahoo
does: 429 "Too Many Requests", which the feed backs off from exponentially.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yfinance as yf

from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, LiveFeed
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed, silence_pandas4_warnings
from bot.services import Core
from tests.fakes.yahoo_fake import Bar, LoopbackSession, SymbolData, YahooFake, minute_bars

from .conftest import StepClock, at


def epoch(text: str) -> int:
    """Seconds for an ISO moment with its offset."""
    return int(datetime.fromisoformat(text).timestamp())


def download(fake: YahooFake, symbol: str, **kwargs: object) -> pd.DataFrame:
    yf.data.YfData().cache_get.cache_clear()
    session = LoopbackSession(fake.port)
    with warnings.catch_warnings():
        silence_pandas4_warnings()
        frame = yf.download(
            symbol, session=session, progress=False, auto_adjust=False, threads=False, **kwargs
        )
    assert isinstance(frame, pd.DataFrame)
    return frame


@pytest.mark.parametrize(
    ("symbol", "first_bar", "zone"),
    [
        ("005930.KS", "2025-01-27T09:00:00+09:00", "Asia/Seoul"),
        ("7203.T", "2025-07-01T09:00:00+09:00", "Asia/Tokyo"),
        ("ASML.AS", "2025-01-27T09:00:00+01:00", "Europe/Amsterdam"),
        ("ASML.AS", "2025-07-01T09:00:00+02:00", "Europe/Amsterdam"),
        ("NVDA", "2025-01-27T09:30:00-05:00", "America/New_York"),
        ("NVDA", "2025-07-01T09:30:00-04:00", "America/New_York"),
    ],
    ids=["seoul", "tokyo", "amsterdam-winter", "amsterdam-summer", "ny-winter", "ny-summer"],
)
def test_regular_minutes_keep_their_local_exchange_time_in_every_season(
    fresh_yahoo: YahooFake, symbol: str, first_bar: str, zone: str
) -> None:
    start = epoch(first_bar)
    fresh_yahoo.symbols[symbol] = SymbolData({"1m": minute_bars(start, [10.0, 10.5, 11.0])})
    frame = download(fresh_yahoo, symbol, period="1d", interval="1m", prepost=False)
    index = frame.index
    assert len(index) == 3  # none dropped as "outside regular hours"
    assert str(index.tz) == zone
    assert index[0] == pd.Timestamp(first_bar)
    assert frame[("Close", symbol)].iloc[-1] == pytest.approx(11.0)


def test_the_chart_meta_names_the_exchange_its_zone_and_its_offset_that_day(
    fresh_yahoo: YahooFake,
) -> None:
    from tests.fakes.yahoo_chart import chart_json

    bars = minute_bars(epoch("2025-07-01T09:00:00+02:00"), [1.0])
    meta = chart_json("ASML.AS", SymbolData({"1m": bars}), "1m")["chart"]["result"][0]["meta"]
    assert (meta["exchangeName"], meta["currency"]) == ("AMS", "EUR")
    assert (meta["exchangeTimezoneName"], meta["timezone"]) == ("Europe/Amsterdam", "CEST")
    assert meta["gmtoffset"] == 7200
    regular = meta["currentTradingPeriod"]["regular"]
    assert regular["start"] == epoch("2025-07-01T09:00:00+02:00")
    assert regular["end"] == epoch("2025-07-01T17:30:00+02:00")
    winter = chart_json("005930.KS", SymbolData({"1m": bars}), "1m")["chart"]["result"][0]
    assert (winter["meta"]["timezone"], winter["meta"]["gmtoffset"]) == ("KST", 32400)


async def test_a_seoul_print_is_read_at_its_own_time_and_session(
    fresh_yahoo: YahooFake, poll_feed: YahooPollFeed
) -> None:
    opens = epoch("2025-02-03T09:00:00+09:00")  # (27–30 January: Seollal, KRX closed)
    fresh_yahoo.symbols["000660.KS"] = SymbolData(
        {"1m": minute_bars(opens, [200_000.0, 201_500.0])}
    )
    batch = await poll_feed.fetch(["000660.KS"])
    hynix = batch.prints["000660.KS"]
    assert hynix.at == datetime(2025, 2, 3, 0, 1, tzinfo=UTC)
    assert hynix.market_session == "regular"
    assert hynix.price == pytest.approx(201_500.0)


def _daily(days: pd.DatetimeIndex) -> list[Bar]:
    opens = [
        int(pd.Timestamp(f"{d.date()} 09:30", tz="America/New_York").timestamp()) for d in days
    ]
    return [Bar(t, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i) for i, t in enumerate(opens)]


def test_period1_and_period2_select_the_days_asked_for(fresh_yahoo: YahooFake) -> None:
    days = pd.bdate_range("2025-01-13", "2025-01-31")
    fresh_yahoo.symbols["AVGO"] = SymbolData({"1d": _daily(days)})
    frame = download(fresh_yahoo, "AVGO", start="2025-01-21", end="2025-01-24", interval="1d")
    assert [d.date().isoformat() for d in frame.index] == ["2025-01-21", "2025-01-22", "2025-01-23"]
    [chart] = [p for p in fresh_yahoo.chart_requests() if "AVGO" in p][-1:]
    assert chart  # one request, its period1/period2 honoured


def test_a_range_selects_the_last_sessions(fresh_yahoo: YahooFake) -> None:
    days = pd.bdate_range("2025-01-13", "2025-01-31")
    fresh_yahoo.symbols["MU"] = SymbolData({"1d": _daily(days)})
    frame = download(fresh_yahoo, "MU", period="5d", interval="1d")
    assert [d.date().isoformat() for d in frame.index] == [
        "2025-01-27",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
    ]


def test_past_its_request_budget_yahoo_answers_429_and_yfinance_gives_an_empty_frame(
    fresh_yahoo: YahooFake, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_yahoo.symbols["AMD"] = SymbolData(
        {"1m": minute_bars(epoch("2025-01-27T09:30:00-05:00"), [1.0])}
    )
    clock = [0.0]
    fresh_yahoo.clock = lambda: clock[0]
    fresh_yahoo.budget = (0, 60.0)  # the budget is spent
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        frame = download(fresh_yahoo, "AMD", period="1d", interval="1m")
    assert frame.empty
    assert "Too Many Requests" in caplog.text or "RateLimit" in caplog.text


async def test_consecutive_rate_limits_back_off_exponentially_up_to_the_maximum(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    fresh_yahoo.symbols["NVDA"] = SymbolData(
        {"1m": minute_bars(epoch("2025-01-27T09:30:00-05:00"), [118.0])}
    )
    real = [1000.0]  # the back-off's monotonic seconds, shared with the fake
    fresh_yahoo.clock = lambda: real[0]
    settings = FeedSettings(rate_limit_backoff_seconds=60.0, rate_limit_backoff_max_seconds=300.0)
    feed = LiveFeed(
        LiveMarket(core.market, BackfillCache(cache_dir)),
        ["NVDA"],
        poll_feed,
        stream=None,
        clock=StepClock(at("2025-01-27T14:31:00")),
        settings=settings,
    )
    feed.backoff.clock = lambda: real[0]
    fresh_yahoo.rate_limited = True
    fresh_yahoo.reset_counts()
    asked_at = []
    for _ in range(15 * 60):  # a poll tick every second of fifteen minutes
        before = fresh_yahoo.counts()["chart"]
        await feed.poll_tick(force=True)
        if fresh_yahoo.counts()["chart"] > before:
            asked_at.append(real[0])
        real[0] += 1.0
    gaps = [b - a for a, b in itertools.pairwise(asked_at)]
    assert gaps[:4] == [60.0, 120.0, 240.0, 300.0]  # doubled, then capped
    assert feed.backoff.failures == len(asked_at)
