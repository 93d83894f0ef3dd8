"""The live feed end to end over yfinance and the fake: joins, proxies, guards, fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.domain.price_metrics import Unavailable
from bot.domain.rules.evaluate import CompiledRules
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, LiveFeed, extended_proxies
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.ports import Print, PrintBatch
from bot.services import Core
from tests.fakes.yahoo_fake import SymbolData, YahooFake, minute_bars

from .conftest import StepClock, at

OPEN = 1_737_988_200  # 2025-01-27 09:30 New York (14:30 UTC)
PRE = OPEN - 5400  # 08:00 New York


def _serve(fake: YahooFake, symbol: str, closes: list[float | None], start: int = OPEN) -> None:
    kind = "INDEX" if symbol.startswith("^") else "EQUITY"
    fake.symbols[symbol] = SymbolData({"1m": minute_bars(start, closes)}, instrument_type=kind)


def _feed(
    core: Core, poll: YahooPollFeed, clock: StepClock, cache: Path, symbols: list[str], **kw: object
) -> LiveFeed:
    market = LiveMarket(core.market, BackfillCache(cache))
    extended = extended_proxies(core.settings.aliases)
    stream = kw.pop("stream", None)
    settings = FeedSettings(**kw)  # type: ignore[arg-type]
    return LiveFeed(
        market, symbols, poll, stream=stream, clock=clock, settings=settings, extended=extended
    )  # type: ignore[arg-type]


async def test_a_live_print_joins_the_daily_history_so_pct_vol20_and_z_are_right(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    _serve(fresh_yahoo, "NVDA", [124.8, 118.42])
    clock = StepClock(at("2025-01-27T14:32:00"))
    tick = await _feed(core, poll_feed, clock, cache_dir, ["NVDA"]).poll_tick()
    assert tick is not None and tick.changed == {"NVDA"} and not tick.stale
    quote = tick.snapshot.quote("NVDA")
    assert not isinstance(quote, Unavailable)
    shipped = core.market.table("NVDA")
    assert shipped is not None
    row = shipped.frame.loc["2025-01-27"]
    assert quote.metric("pct") == pytest.approx(row["pct"], abs=1e-9)  # −16.97 %
    assert quote.metric("vol20") == pytest.approx(row["vol20"], abs=1e-9)
    assert quote.metric("z") == pytest.approx(row["z"], abs=1e-9)
    assert quote.previous_close == pytest.approx(142.62)


async def test_pre_market_the_extended_proxies_stand_in_and_deepseek_fires_before_the_bell(
    core: Core,
    preset_rules: CompiledRules,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
) -> None:
    _serve(fresh_yahoo, "SOXX", [215.0, 212.55], start=PRE)  # −7.8 % vs 230.64
    _serve(fresh_yahoo, "DIA", [433.5, 434.9], start=PRE)  # +0.5 %
    _serve(fresh_yahoo, "^SOX", [5341.9], start=OPEN - 3 * 86400 + 23400)  # Friday's close
    clock = StepClock(at("2025-01-27T13:05:00"))
    feed = _feed(core, poll_feed, clock, cache_dir, ["^SOX", "SOXX", "^DJI", "DIA"])
    tick = await feed.poll_tick()
    assert tick is not None and tick.kind == "pre"
    sox = core.market.symbols.resolve("SOX")
    reading = tick.snapshot.read(sox, "pct")
    assert reading.label == "SOX (proxy SOXX)"
    assert reading.number == pytest.approx((212.55 / 230.64 - 1) * 100)
    fired = {rule.id for rule in preset_rules.fired(tick.snapshot)}
    assert {"deepseek", "chip_crash"} <= fired


async def test_a_quote_hours_old_while_the_market_is_open_is_stale_and_fires_nothing(
    core: Core,
    preset_rules: CompiledRules,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
) -> None:
    _serve(fresh_yahoo, "^SOX", [5007.8, 4853.2])  # −9.15 %, printed at 09:31
    clock = StepClock(at("2025-01-27T18:00:00"))  # 13:00 New York
    tick = await _feed(core, poll_feed, clock, cache_dir, ["^SOX"]).poll_tick()
    assert tick is not None and tick.stale == {"^SOX"}
    pct = tick.snapshot.read(core.market.symbols.resolve("SOX"), "pct").value
    assert isinstance(pct, Unavailable) and pct.code == "stale"
    assert "chip_crash" not in {rule.id for rule in preset_rules.fired(tick.snapshot)}


async def test_an_unknown_symbol_is_logged_once_not_every_poll(
    core: Core,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _serve(fresh_yahoo, "NVDA", [118.0])
    clock = StepClock(at("2025-01-27T14:31:00"))
    feed = _feed(core, poll_feed, clock, cache_dir, ["NVDA", "NOPE"])
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        for _ in range(3):
            tick = await feed.poll_tick(force=True)
            clock.advance(60)
    lines = [r for r in caplog.records if "unknown_symbol symbol=NOPE" in r.getMessage()]
    assert len(lines) == 1
    assert tick is not None
    missing = tick.snapshot.quote("NOPE")
    assert isinstance(missing, Unavailable) and missing.code == "unknown_symbol"


async def test_a_rate_limit_backs_off_and_keeps_the_last_good_prints_marked_stale(
    core: Core,
    preset_rules: CompiledRules,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _serve(fresh_yahoo, "^SOX", [5007.8, 4853.2])
    clock = StepClock(at("2025-01-27T14:32:00"))
    feed = _feed(core, poll_feed, clock, cache_dir, ["^SOX"], rate_limit_backoff_seconds=60.0)
    real = [1000.0]
    feed.backoff.clock = lambda: real[0]
    first = await feed.poll_tick()
    assert first is not None and "chip_crash" in {r.id for r in preset_rules.fired(first.snapshot)}
    fresh_yahoo.rate_limited = True
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        assert await feed.poll_tick(force=True) is None
    assert any("rate_limited" in r.getMessage() for r in caplog.records)
    kept = feed.snapshot(clock.now())
    assert kept.quote("^SOX").__class__.__name__ == "Quote"  # the last good print is kept
    assert "chip_crash" not in {r.id for r in preset_rules.fired(kept)}  # but stale
    fresh_yahoo.reset_counts()
    assert await feed.poll_tick(force=True) is None  # backing off: no request at all
    assert fresh_yahoo.counts()["chart"] == 0
    real[0] += 61
    fresh_yahoo.rate_limited = False
    fresh_yahoo.reset_counts()
    assert await feed.poll_tick(force=True) is not None
    assert feed.backoff.failures == 0 and not feed.state.stale


async def test_a_split_sized_jump_is_logged_and_fires_nothing(
    core: Core,
    preset_rules: CompiledRules,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _serve(fresh_yahoo, "NVDA", [71.31])  # 142.62 / 2: a 2-for-1 split, not a −50 % day
    _serve(fresh_yahoo, "SPY", [607.0])
    clock = StepClock(at("2025-01-27T14:31:00"))
    feed = _feed(core, poll_feed, clock, cache_dir, ["NVDA", "SPY", "^GSPC"])
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        tick = await feed.poll_tick()
    assert tick is not None and "NVDA" in tick.stale
    assert any("split_sized_jump symbol=NVDA" in r.getMessage() for r in caplog.records)
    assert "nvda_decoupling" not in {r.id for r in preset_rules.fired(tick.snapshot)}


def _stream_print(clock: StepClock, price: float = 120.0) -> PrintBatch:
    latest = Print("NVDA", price, clock.now(), "regular", "Yahoo stream")
    return PrintBatch({"NVDA": latest}, clock.now(), "Yahoo stream")


async def test_while_the_stream_is_healthy_only_the_safety_poll_runs(
    core: Core, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    clock = StepClock(at("2025-01-27T14:40:00"))
    stream = YahooStreamFeed("ws://127.0.0.1:9/")
    feed = _feed(core, poll_feed, clock, cache_dir, ["NVDA"], stream=stream)
    await feed.on_stream_batch(_stream_print(clock))
    assert feed.poll_reason(clock.now()) == "safety"  # the first safety poll
    feed.state.last_poll = clock.now()
    reasons = []
    for _ in range(10):  # ten 60 s ticks, the stream printing every 30 s
        clock.advance(30)
        await feed.on_stream_batch(_stream_print(clock))
        clock.advance(30)
        reason = feed.poll_reason(clock.now())
        if reason:
            feed.state.last_poll = clock.now()
        reasons.append(reason)
    assert reasons == [None, None, None, None, "safety", None, None, None, None, "safety"]


async def test_after_a_stream_gap_polls_take_over_and_the_log_says_when_and_why(
    core: Core, poll_feed: YahooPollFeed, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = StepClock(at("2025-01-27T14:40:00"))
    stream = YahooStreamFeed("ws://127.0.0.1:9/")
    feed = _feed(core, poll_feed, clock, cache_dir, ["NVDA"], stream=stream)
    await feed.on_stream_batch(_stream_print(clock))
    feed.state.last_poll = clock.now()
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        clock.advance(60)
        assert feed.poll_reason(clock.now()) is None
        clock.advance(30)  # 90 s of silence
        assert feed.poll_reason(clock.now()) == "stream gap"
        clock.advance(60)
        assert feed.poll_reason(clock.now()) == "stream gap"
        await feed.on_stream_batch(_stream_print(clock, 121.0))
        clock.advance(10)
        assert feed.poll_reason(clock.now()) in (None, "safety")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("mode=poll reason=stream_gap" in m for m in messages) == 1
    assert sum("mode=stream" in m for m in messages) == 1
