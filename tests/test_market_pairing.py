"""Backtests across markets: each market's session read beside the New York session it leads
into, never a figure before it was printed (issue 18 item 6)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bot.domain.backtest import run_backtest
from bot.domain.markets import Market, markets
from bot.domain.pairing import latest_leading_into, sessions_led_into
from bot.domain.rules.presets import custom_rule
from bot.services import Core
from tests.test_cli_end_to_end import run_bot

DEEPSEEK_DAY = pd.Timestamp("2025-01-27")


def _market(core: Core, symbol: str) -> Market:
    """The configured market a symbol trades on (the core installs the configured markets)."""
    assert core is not None
    return markets().for_symbol(symbol)


def _led(core: Core, symbol: str, day: str, stage: str = "close") -> pd.Timestamp:
    market = _market(core, symbol)
    home = markets().default
    led = sessions_led_into(market, pd.DatetimeIndex([day]), home, stage)  # type: ignore[arg-type]
    return pd.Timestamp(led[0])


def test_tokyos_monday_leads_into_new_yorks_monday(core: Core) -> None:
    assert _led(core, "6857.T", "2025-01-27") == DEEPSEEK_DAY


def test_amsterdams_monday_leads_into_new_yorks_monday(core: Core) -> None:
    assert _led(core, "ASML.AS", "2025-01-27") == DEEPSEEK_DAY


def test_a_cme_session_closing_at_17_new_york_leads_into_new_yorks_next_session(
    core: Core,
) -> None:
    assert _led(core, "NQ=F", "2025-01-27") == pd.Timestamp("2025-01-28")
    assert _led(core, "NQ=F", "2025-01-24") == DEEPSEEK_DAY  # Friday's close → Monday


def test_at_the_open_the_cme_session_opened_sunday_evening_leads_into_monday(core: Core) -> None:
    assert _led(core, "NQ=F", "2025-01-27", "open") == DEEPSEEK_DAY


def test_when_new_york_is_closed_the_latest_tokyo_session_before_its_next_close_is_read(
    core: Core,
) -> None:
    # NYSE closed on 2025-01-09 (a national day of mourning); Tokyo traded both days.
    tokyo = _market(core, "6857.T")
    days = pd.DatetimeIndex(["2025-01-08", "2025-01-09", "2025-01-10"])
    rows = pd.DatetimeIndex(["2025-01-08", "2025-01-10"])
    taken = latest_leading_into(tokyo, days, markets().default, rows)
    assert [days[i].date().isoformat() for i in taken] == ["2025-01-08", "2025-01-10"]


def test_no_seoul_session_leads_into_new_yorks_deepseek_day_seoul_was_closed(core: Core) -> None:
    seoul = _market(core, "000660.KS")
    days = pd.DatetimeIndex(["2025-01-24", "2025-01-31"])
    rows = pd.DatetimeIndex(["2025-01-24", "2025-01-27", "2025-01-31"])
    assert list(latest_leading_into(seoul, days, markets().default, rows)) == [0, -1, 1]


def test_a_tokyo_and_new_york_rule_fires_on_the_deepseek_day_read_beside_tokyos_close(
    core: Core,
) -> None:
    rule = custom_rule("ADVANTEST.pct <= -5 and SOX.pct <= -5", core.market.symbols)
    result = run_backtest(core.market, rule)
    by_day = {f.date: f for f in result.firings}
    assert by_day[DEEPSEEK_DAY].paired == {"ADVANTEST": DEEPSEEK_DAY}
    assert round(by_day[DEEPSEEK_DAY].inputs["ADVANTEST.pct"] or 0, 2) == -8.61
    assert result.home is markets().default
    assert [p.labels for p in result.pairings] == [("ADVANTEST",)]


@pytest.mark.parametrize(
    "text",
    [
        "ADVANTEST.pct <= -3 and SOX.pct <= -3",
        "ASML_AS.pct <= -3 and SOX.pct <= -3",
        "NQ.pct <= -2 and SOX.pct <= -3",
        "HYNIX.pct <= -3 and SOX.pct <= -3",
    ],
)
@pytest.mark.parametrize("at", ["close", "open"])
def test_no_figure_of_another_market_is_read_before_it_was_printed(
    core: Core, text: str, at: str
) -> None:
    result = run_backtest(core.market, custom_rule(text, core.market.symbols), at=at)  # type: ignore[arg-type]
    assert result.firings
    home = result.home
    assert home is not None
    (pairing,) = result.pairings
    venue = pairing.market
    for firing in result.firings:
        (own,) = firing.paired.values()
        if at == "close":
            assert venue.close_of(own) <= home.close_of(firing.date)
        else:
            assert venue.open_of(own) <= home.open_of(firing.date)


def test_the_futures_close_of_the_deepseek_day_is_not_read_with_new_yorks_deepseek_day(
    core: Core,
) -> None:
    # NQ=F closed −2.98 % at 17:00 New York on 2025-01-27, an hour after New York's close.
    rule = custom_rule("NQ.pct <= -2.5 and SOX.pct <= -5", core.market.symbols)
    result = run_backtest(core.market, rule, DEEPSEEK_DAY, pd.Timestamp("2025-01-28"))
    assert result.firings == ()
    rule = custom_rule("NQ.pct <= -2.5", core.market.symbols)
    alone = run_backtest(core.market, rule, DEEPSEEK_DAY, DEEPSEEK_DAY)
    assert [f.date for f in alone.firings] == [DEEPSEEK_DAY]  # its own session, unpaired


def test_the_backtest_says_how_it_paired_the_markets_and_shows_the_session_read() -> None:
    done = run_bot("backtest", "NQ.pct <= -3 and SOX.pct <= -5", "--from", "2025-04-01")
    assert done.returncode == 0, done.stderr
    assert "rows are NYSE sessions" in done.stdout
    assert "no look-ahead" in done.stdout
    assert "→ NYSE" in done.stdout
    assert "2025-04-04" in done.stdout and "(NQ: 2025-04-03)" in done.stdout


def test_the_backtest_json_names_each_other_markets_session_read() -> None:
    done = run_bot(
        "backtest", "ADVANTEST.pct <= -5 and SOX.pct <= -5", "--from", "2025-01-27", "--json"
    )
    assert done.returncode == 0, done.stderr
    firings = json.loads(done.stdout)
    assert firings[0]["date"] == "2025-01-27"
    assert firings[0]["paired"] == {"ADVANTEST": "2025-01-27"}
