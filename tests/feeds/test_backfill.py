"""Backfill of missing daily bars into the writable cache, with provenance "Yahoo, live"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from bot.feeds.backfill import BackfillCache, backfill, needs_backfill
from bot.feeds.live_market import LiveMarket
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.ports import Print
from bot.services import Core
from tests.fakes.yahoo_fake import Bar, SymbolData, YahooFake


def _daily(day: str, close: float) -> Bar:
    epoch = int(pd.Timestamp(day, tz="America/New_York").timestamp()) + 9 * 3600 + 1800
    return Bar(epoch, close - 1, close + 1, close - 2, close, 1e6)


async def test_missing_closed_sessions_are_fetched_once_and_cached_beside_the_shipped_files(
    core: Core, fresh_yahoo: YahooFake, poll_feed: YahooPollFeed, cache_dir: Path
) -> None:
    # NVDA's shipped file ends 2026-08-21 (a Friday); on Wednesday 08-26 at 15:00 New York
    # the 24th and 25th have closed and the 26th has not.
    bars = [_daily("2026-08-24", 220.0), _daily("2026-08-25", 222.0), _daily("2026-08-26", 225.0)]
    fresh_yahoo.symbols["NVDA"] = SymbolData({"1d": bars})
    now = datetime(2026, 8, 26, 19, 0, tzinfo=UTC)
    cache = BackfillCache(cache_dir)
    market = LiveMarket(core.market, cache)
    last = market.last_known(["NVDA", "DIA"])
    assert needs_backfill(last, now) == {"NVDA": "2026-08-22"}  # DIA's file is current
    fresh_yahoo.reset_counts()
    added = await backfill(poll_feed, cache, last, now)
    assert added == {"NVDA": 2}
    # One download: one chart request, plus (cold process) yfinance's timezone probe.
    assert fresh_yahoo.counts()["chart"] <= 2
    assert "Yahoo, live" in (cache_dir / "PROVENANCE.toml").read_text()
    written = pd.read_csv(cache_dir / "NVDA.csv")
    assert list(written["date"]) == ["2026-08-24", "2026-08-25"]
    market.invalidate(added)
    assert market.last_known(["NVDA"])["NVDA"] == pd.Timestamp("2026-08-25")
    live = Print("NVDA", 231.0, now, "regular", "Yahoo poll", open=224.0)
    quote = market.quote(live, now)
    assert not isinstance(quote, type(None))
    assert quote.metric("prev_close") == pytest.approx(222.0)  # type: ignore[union-attr]
    assert quote.metric("pct") == pytest.approx((231 / 222 - 1) * 100)  # type: ignore[union-attr]
    assert isinstance(quote.metric("z"), float)  # type: ignore[union-attr]
    again = await backfill(poll_feed, cache, market.last_known(["NVDA"]), now)
    assert again == {}


def test_a_print_whose_previous_close_is_not_known_yet_has_no_move(
    core: Core, cache_dir: Path
) -> None:
    market = LiveMarket(core.market, BackfillCache(cache_dir))
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    quote = market.quote(Print("NVDA", 150.0, now, "regular", "Yahoo poll"), now)
    pct = quote.metric("pct")  # type: ignore[union-attr]
    assert not isinstance(pct, float) and pct.code == "missing_previous"


async def test_a_backfill_yahoo_cannot_serve_is_one_line_naming_the_cause(
    core: Core,
    fresh_yahoo: YahooFake,
    poll_feed: YahooPollFeed,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The fake knows none of these symbols: Yahoo answers 404 for each, as for a delisted one.
    now = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    cache = BackfillCache(cache_dir)
    last = LiveMarket(core.market, cache).last_known(["NVDA", "AAPL", "MSFT", "AMD"])
    with caplog.at_level("INFO"):
        added = await backfill(poll_feed, cache, last, now)
    assert added == {}
    from_yfinance = [r for r in caplog.records if r.name.startswith("yfinance")]
    assert [r for r in from_yfinance if r.levelname == "ERROR"] == []
    ours = [r for r in caplog.records if r.name == "bot.feeds.backfill"]
    assert len(ours) == 1 and ours[0].levelname == "WARNING"
    line = ours[0].getMessage()
    assert line.startswith("history reaches 2026-08-21; backfill from 2026-")
    assert "did not fill the gap" in line
    assert "0 of 4 symbols" in line and "Yahoo said:" in line
