"""Live, per market, through yfinance and the Yahoo fakes: Tokyo and Amsterdam defined in the
test's own config (with a rule each), their daily bars backfilled from the fake, their
prints streamed or polled, each judged by its own market's calendar.

Prices are Yahoo's daily bars of 20–27 January 2025 (../shared/data/market/yahoo-tokyo/,
yahoo-europe/): Advantest 10,002.01 → 9,141.14 (−8.61 %), the Nikkei 39,931.98 → 39,565.80
(−0.92 %), ASML.AS 691.48 → 643.03 (−7.0 %).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pandas as pd
import pytest

from bot.app import App, bootstrap
from bot.domain.markets import install_markets, markets
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.settings import Settings, build_settings
from jobs.market_jobs import SchedulerSettings, market_jobs
from tests.fakes.yahoo_fake import (
    Bar,
    StreamFake,
    SymbolData,
    YahooFake,
    minute_bars,
    pricing_frame,
)

from .conftest import StepClock

ROOM = ChannelRef("console", "local", "room")
DAILY = {  # Yahoo daily closes, 20–24 January 2025
    "6857.T": [9325.25, 9394.92, 9772.11, 10002.01, 10002.01],
    "^N225": [38902.5, 39027.98, 39646.25, 39958.87, 39931.98],
    "ASML.AS": [738.16, 722.77, 738.26, 705.89, 691.48],
}
CONFIG: dict[str, Any] = {
    "universe": {"symbols": ["NVDA"]},
    "aliases": {
        "ADVANTEST": {"symbol": "6857.T"},
        "N225": {"symbol": "^N225"},
        "ASML_AS": {"symbol": "ASML.AS"},
    },
    "markets": {
        "tokyo": {
            "calendar": "XTKS",
            "zone": "Asia/Tokyo",
            "label": "TSE",
            "suffixes": [".T"],
            "symbols": ["^N225"],
            "open_check": "09:01",
            "close_checks": ["15:30"],
        },
        "europe": {
            "calendar": "XAMS",
            "zone": "Europe/Amsterdam",
            "label": "AMS",
            "suffixes": [".AS"],
            "stale_seconds": 600,
            "close_checks": ["17:30"],
        },
    },
    "presets": {
        "tokyo_test": {
            "expr": "ADVANTEST.pct <= -5 and N225.pct > -2",
            "description_en": "Test: Advantest falls 5 % while the Nikkei holds",
            "description_ko": "시험: 닛케이가 버티는데 어드반테스트 5 % 하락",
        },
        "amsterdam_test": {
            "expr": "ASML_AS.pct <= -5",
            "description_en": "Test: ASML in Amsterdam falls 5 %",
            "description_ko": "시험: 암스테르담 ASML 5 % 하락",
        },
    },
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """The shipped settings plus Tokyo, Amsterdam and a rule for each; the process's
    markets are put back afterwards."""
    shipped = markets()
    config = {**CONFIG, "feed": {"stream_url": "ws://127.0.0.1:9/"}}
    yield build_settings(config, {"SPUTNIK_CONFIG": os.devnull})
    install_markets(shipped)


def _serve_daily(yahoo: YahooFake) -> None:
    days = pd.bdate_range("2025-01-20", "2025-01-24")
    for symbol, closes in DAILY.items():
        zone = "Asia/Tokyo" if symbol != "ASML.AS" else "Europe/Amsterdam"
        bars = [
            Bar(int(pd.Timestamp(f"{day.date()} 09:00", tz=zone).timestamp()), c, c, c, c)
            for day, c in zip(days, closes, strict=True)
        ]
        kind = "INDEX" if symbol.startswith("^") else "EQUITY"
        yahoo.symbols[symbol] = SymbolData({"1d": bars}, timezone=zone, instrument_type=kind)


async def _app(
    settings: Settings, tmp_path: Path, clock: StepClock, poll: YahooPollFeed, **given: Any
) -> App:
    app = await bootstrap(
        settings,
        clock=clock,
        store_url=f"sqlite:///{tmp_path / 'app.db'}",
        env={},
        feed=poll,
        cache_dir=tmp_path / "history-live",
        deliver=False,
    )
    app.__dict__.update(given)
    await app.store.upsert_channel(Channel(ROOM))
    for preset in ("tokyo_test", "amsterdam_test"):
        await app.store.add_subscription(Subscription(ROOM, preset))
    await app.live.catch_up(poll)  # each market's closed sessions, from the fake's daily bars
    return app


def _fired(app: App) -> list[str]:
    return [line.split("[")[0] for line in app.report.fired]


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def stream() -> AsyncIterator[StreamFake]:
    server = await StreamFake().start()
    yield server
    await server.stop()


async def test_a_tokyo_print_streamed_at_1_29_new_york_fires_the_tokyo_preset(
    settings: Settings,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    stream: StreamFake,
    tmp_path: Path,
) -> None:
    _serve_daily(fresh_yahoo)
    clock = StepClock(utc("2025-01-27T01:29:30-05:00"))  # 15:29:30 Tokyo; NYSE not open
    app = await _app(
        settings, tmp_path, clock, poll_feed, stream=YahooStreamFeed(stream.url, backoff_initial=0)
    )
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(app.live.run_stream(stop))
        await stream.wait_connections(1)
        # the push stream subscribes to every configured market's symbols
        assert {"NVDA", "000660.KS", "6857.T", "^N225", "ASML.AS"} <= set(stream.subscriptions[0])
        printed = epoch("2025-01-27T15:29:00+09:00") * 1000
        await stream.send(
            [
                pricing_frame("^N225", 39565.80, printed),
                pricing_frame("6857.T", 9141.14, printed),
            ]
        )
        await _until(lambda: app.report.ticks == 2)
        stop.set()
        await task
        assert _fired(app) == ["tokyo_test"]
        [item] = await app.store.list_outbox()
        assert item.channel == ROOM
    finally:
        await app.close()


@pytest.mark.parametrize(
    ("last_print", "fires"),
    [("17:29", True), ("09:01", False)],
    ids=["fresh-at-the-close", "stale-hours-before-the-close"],
)
async def test_after_amsterdam_closes_its_closing_check_fires_on_a_fresh_quote_not_a_stale_one(
    settings: Settings,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    tmp_path: Path,
    last_print: str,
    fires: bool,
) -> None:
    _serve_daily(fresh_yahoo)
    start = epoch(f"2025-01-27T{last_print}:00+01:00")
    fresh_yahoo.symbols["ASML.AS"].bars["1m"] = minute_bars(start - 60, [645.0, 643.03])
    clock = StepClock(utc("2025-01-27T17:40:00+01:00"))  # Amsterdam closed at 17:30 CET
    app = await _app(settings, tmp_path, clock, poll_feed)
    try:
        assert markets().for_symbol("ASML.AS").phase(clock.now()) == "closed"
        [check] = [job for job in app.jobs if job.id == "ams-close"]
        await check.run(clock.now())  # forces a poll of Amsterdam's symbols
        assert app.report.ticks == 1
        assert ("ASML.AS" in app.live.state.stale) is not fires  # judged as it stood at 17:30
        assert ("amsterdam_test" in _fired(app)) is fires
    finally:
        await app.close()


async def test_tokyos_lunch_break_is_neither_stale_nor_a_close_and_is_not_polled(
    settings: Settings, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, tmp_path: Path
) -> None:
    _serve_daily(fresh_yahoo)
    morning = epoch("2025-01-27T11:28:00+09:00")  # the last minutes before the 11:30 break
    fresh_yahoo.symbols["6857.T"].bars["1m"] = minute_bars(morning, [9500.0, 9400.0])
    fresh_yahoo.symbols["^N225"].bars["1m"] = minute_bars(morning, [39700.0, 39650.0])
    clock = StepClock(utc("2025-01-27T12:25:00+09:00"))  # 55 minutes into the break
    app = await _app(settings, tmp_path, clock, poll_feed)
    try:
        tokyo = markets().for_symbol("6857.T")
        assert tokyo.phase(clock.now()) == "break"
        tick = await app.live.poll_tick(force=True, symbols=["6857.T", "^N225"])
        assert tick is not None and not tick.stale  # 55 minutes old, but only 1 of trading
        quote = tick.snapshot.quote("6857.T")
        assert quote is not None and quote.state == "open"  # the break closes nothing
        assert _fired(app) == ["tokyo_test"]  # −6.0 % while the Nikkei is −0.7 %

        # the poll job leaves Tokyo alone during its break (the CME and FX, open at 22:25
        # New York on Sunday, may be polled)
        def tokyo_requests() -> int:
            return sum(
                any(f"/chart/{quote_plus(symbol)}" in path for symbol in ("6857.T", "^N225"))
                for path in fresh_yahoo.chart_requests()
            )

        requests = tokyo_requests()
        assert requests > 0, fresh_yahoo.chart_requests()
        jobs = market_jobs(app.live, None, SchedulerSettings(), book=markets())
        [poll] = [job for job in jobs if job.id == "poll"]
        await poll.run(clock.now())
        assert tokyo_requests() == requests
        # after the break the same print is two trading minutes old: still fresh
        clock.current = utc("2025-01-27T12:31:00+09:00")
        await app.live.poll_tick(force=True, symbols=["6857.T", "^N225"])  # the same prints
        assert app.live.state.prints["6857.T"].at == utc("2025-01-27T11:29:00+09:00")
        assert not app.live.state.stale
        # ... and a regular-session limit (5 min) later it is stale
        clock.current = utc("2025-01-27T12:35:00+09:00")
        await app.live.poll_tick(force=True, symbols=["6857.T", "^N225"])
        assert set(app.live.state.stale) == {"6857.T", "^N225"}
    finally:
        await app.close()
