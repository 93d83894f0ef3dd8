"""Live path: print → outbox latency (stream vs 60 s polls), prints/s, Yahoo requests/hour.

500 symbols (real daily history of shipped files, copied under 500 names), 10,000 channels
each subscribed to its own custom rule over them, a SQLite store. Stream mode: real
`PricingData` frames from a loopback streamer through `yf.AsyncWebSocket`, the live feed's
guards and join, and `evaluate_and_claim` (commit time minus the print's timestamp, real
time). Poll mode: a real `yf.download` of the 500 symbols against the loopback Yahoo, then
the same claim; a print waits for the next poll (uniform over the 60 s). Then the engine's
prints/s on one core, and Yahoo HTTP requests/hour for 40 symbols, counted at the fake.

Run: `.venv/bin/python -m bench live` (about a minute).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from bot.app import build_core, build_services
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.feeds.backfill import BackfillCache
from bot.feeds.live import FeedSettings, FeedTick, LiveFeed
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.settings import PROJECT_ROOT, load_settings
from bot.stores import open_store
from jobs.evaluate import evaluate_and_claim, evaluate_print
from jobs.rule_book import PrintTick, RuleBook

SYMBOLS = 500
RULES = 10_000
SOURCES = ("NVDA", "MU", "SOXX", "SPY", "QQQ", "DIA", "AVGO")
SESSION_START = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)  # 10:00 New York, DeepSeek day


class SessionClock:
    """Real time, running from 10:00 New York on the DeepSeek day (a live clock for the bench;
    the replay's `VirtualClock` only moves when a scheduler steps it)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.real_start = start, time.time()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.time() - self.real_start)


def _history(directory: Path) -> dict[str, float]:
    """500 CSVs of real rows (2024-09 → 2025-01-24); each symbol's previous close."""
    closes: dict[str, float] = {}
    for index in range(SYMBOLS):
        source = PROJECT_ROOT / "data" / "history" / f"{SOURCES[index % len(SOURCES)]}.csv"
        frame = pd.read_csv(source)
        frame = frame[(frame["date"] >= "2024-09-01") & (frame["date"] <= "2025-01-24")]
        symbol = f"B{index:03d}"
        frame.to_csv(directory / f"{symbol}.csv", index=False)
        closes[symbol] = float(frame["close"].iloc[-1])
    return closes


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


async def _populate(store: object, symbols: list[str]) -> None:
    for index in range(RULES):
        ref = ChannelRef("console", "bench", f"c{index}")
        await store.upsert_channel(Channel(ref))  # type: ignore[attr-defined]
        threshold = 2 + (index // SYMBOLS) * 0.25
        expression = f"{symbols[index % SYMBOLS]}.pct <= -{threshold:.2f}"
        await store.add_subscription(  # type: ignore[attr-defined]
            Subscription(ref, f"r{index}", expression=expression)
        )


async def _stream_mode(services, live, closes, prints: int, rate: float):  # type: ignore[no-untyped-def]
    from tests.fakes.yahoo_fake import StreamFake, pricing_frame

    fake = await StreamFake().start()
    book = RuleBook(services.core.market.symbols, list(services.core.presets.values()))
    sent: dict[str, float] = {}
    latencies: list[float] = []
    engine: list[float] = []
    service: list[float] = []

    async def on_tick(tick: FeedTick) -> None:
        started = time.perf_counter()
        evaluate_print(services, _print_tick(tick), book)
        engine.append(time.perf_counter() - started)
        begun = time.perf_counter()
        await evaluate_and_claim(services, _print_tick(tick), book=book)
        service.append(time.perf_counter() - begun)
        for symbol in tick.changed:
            if symbol in sent:
                latencies.append(time.time() - sent.pop(symbol))

    live.on_tick = on_tick
    live.stream_feed = YahooStreamFeed(fake.url, backoff_initial=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(live.run_stream(stop))
    await fake.wait_connections(1)
    symbols = sorted(closes)
    rng = random.Random(7)
    for _ in range(prints):
        symbol = rng.choice(symbols)
        price = closes[symbol] * (1 - rng.uniform(0.0, 0.12))
        sent[symbol] = time.time()
        now_ms = int(services.clock.now().timestamp() * 1000)
        await fake.send([pricing_frame(symbol, price, now_ms)])
        await asyncio.sleep(1 / rate)
    await asyncio.sleep(1.0)
    stop.set()
    await task
    await fake.stop()
    return latencies, engine, service


def _print_tick(tick: FeedTick) -> PrintTick:
    return PrintTick(tick.snapshot, tick.kind, tick.changed, tick.expires_at, tick.stale)


async def _poll_mode(services, live, closes) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    import yfinance as yf

    from tests.fakes.yahoo_fake import LoopbackSession, SymbolData, YahooFake, minute_bars

    yf.set_tz_cache_location(tempfile.mkdtemp())
    fake = YahooFake().start()
    start = int(services.clock.now().timestamp()) - 120
    for symbol, close in closes.items():
        fake.symbols[symbol] = SymbolData({"1m": minute_bars(start, [close, close * 0.93])})
    poll = YahooPollFeed(lambda: LoopbackSession(fake.port), timeout=30)
    await poll.fetch(sorted(closes)[:5])  # cookie and crumb, as a running process has them
    fake.reset_counts()
    started = time.perf_counter()
    batch = await poll.fetch(sorted(closes))
    download = time.perf_counter() - started
    requests = fake.counts()["chart"]
    fake.stop()
    book = RuleBook(services.core.market.symbols, list(services.core.presets.values()))
    live.on_tick = None
    started = time.perf_counter()
    tick = await live.apply(batch, None)
    assert tick is not None
    await evaluate_and_claim(services, _print_tick(tick), book=book)
    claim = time.perf_counter() - started
    return download, claim, requests


async def _prints_per_second(services, live, closes, count: int, move: float) -> float:  # type: ignore[no-untyped-def]
    from bot.ports import Print, PrintBatch

    book = RuleBook(services.core.market.symbols, list(services.core.presets.values()))
    book.sync_custom(await services.store.custom_rules(services.clock.now()))
    live.on_tick = None
    symbols = sorted(closes)
    rng = random.Random(11)
    for symbol in symbols:  # every table joined once, as a running feed has them
        live.market.table(symbol)
    started = time.perf_counter()
    for _ in range(count):
        symbol = rng.choice(symbols)
        now = services.clock.now()
        price = closes[symbol] * (1 + rng.uniform(-move, move))
        latest = Print(symbol, price, now, "regular", "b")
        tick = await live.apply(PrintBatch({symbol: latest}, now, "bench"), None)
        assert tick is not None
        evaluate_print(services, _print_tick(tick), book)
    return count / (time.perf_counter() - started)


async def _requests_per_hour() -> dict[str, float]:
    from tests.fakes.yahoo_fake import LoopbackSession, SymbolData, YahooFake, minute_bars

    fake = YahooFake().start()
    symbols = [f"R{i:02d}" for i in range(40)]
    for symbol in symbols:
        fake.symbols[symbol] = SymbolData({"1m": minute_bars(1_737_990_000, [100.0, 101.0])})
    poll = YahooPollFeed(lambda: LoopbackSession(fake.port), timeout=30)
    await poll.fetch(symbols)
    cold = sum(fake.counts().values())
    fake.reset_counts()
    for _ in range(3):
        await poll.fetch(symbols)
    warm = sum(fake.counts().values()) / 3
    fake.stop()
    stream_polls = 3600 / FeedSettings().safety_poll_seconds
    poll_polls = 3600 / FeedSettings().poll_seconds
    return {
        "cold": cold,
        "warm_per_poll": warm,
        "stream": cold + (stream_polls - 1) * warm,
        "poll": cold + (poll_polls - 1) * warm,
    }


async def _main() -> None:
    with tempfile.TemporaryDirectory(prefix="sputnik-bench-live-") as tmp:
        directory = Path(tmp)
        (directory / "history").mkdir()
        closes = _history(directory / "history")
        settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
        core = build_core(settings, directory / "history")
        store = await open_store(f"sqlite:///{directory / 'bench.db'}")
        clock = SessionClock(SESSION_START)
        services = build_services(core, store, clock=clock)
        setup = time.perf_counter()
        await _populate(store, sorted(closes))
        setup = time.perf_counter() - setup
        market = LiveMarket(core.market, BackfillCache(directory / "cache"))

        def make_live() -> LiveFeed:
            return LiveFeed(
                market, sorted(closes), YahooPollFeed(), stream=None, clock=clock,
                settings=FeedSettings(),
            )  # fmt: skip

        stream_rate = 10.0
        latencies, engine, service = await _stream_mode(
            services, make_live(), closes, prints=200, rate=stream_rate
        )
        download, claim, requests = await _poll_mode(services, make_live(), closes)
        rate = await _prints_per_second(services, make_live(), closes, 5000, move=0.015)
        firing = await _prints_per_second(services, make_live(), closes, 500, move=0.12)
        hourly = await _requests_per_hour()
        await store.close()
    s50, s95, s99 = _percentiles(latencies)
    e50, e95, _ = _percentiles(engine)
    v50, v95, _ = _percentiles(service)
    rng = random.Random(3)
    waits = [rng.uniform(0, 60) + download + claim for _ in range(10_000)]
    p50, p95, p99 = _percentiles(waits)
    print(f"setup: {RULES:,} channels, one custom rule each, {SYMBOLS} symbols: {setup:.1f} s")
    print("print → outbox commit (real s)            stream        poll (60 s)")
    print(f"  p50                                  {s50:10.3f}   {p50:10.2f}")
    print(f"  p95  (target stream < 1 s)           {s95:10.3f}   {p95:10.2f}")
    print(f"  p99                                  {s99:10.3f}   {p99:10.2f}")
    print(f"  stream: {stream_rate:.0f} prints/s arriving, drops of 0-12 % (most fire)")
    print(f"  engine share p50 / p95 (ms)          {e50 * 1e3:6.2f} / {e95 * 1e3:6.2f}")
    print(f"  evaluate_and_claim p50 / p95 (ms)    {v50 * 1e3:6.1f} / {v95 * 1e3:6.1f}")
    print(f"  poll: yf.download of {SYMBOLS} symbols {download:.2f} s ({requests} chart requests),"
          f" join + claim of all {claim:.2f} s")  # fmt: skip
    print(f"prints/s on one core, {RULES:,} rules (engine: join + evaluate): {rate:,.0f}"
          f" for ±1.5 % moves (target ≥ 5,000); {firing:,.0f} when most prints fire")  # fmt: skip
    print("Yahoo HTTP requests per open-market hour, 40 symbols (cookies and crumbs included)")
    print(f"  cold start {hourly['cold']:.0f}, then {hourly['warm_per_poll']:.0f} per poll")
    print(f"  stream mode (safety poll every 300 s): {hourly['stream']:,.0f} / h + 1 websocket")
    print(f"  poll mode (every 60 s):                {hourly['poll']:,.0f} / h")


def main() -> None:
    """Run the live-path benchmark and print its figures."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
