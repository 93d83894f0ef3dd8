"""One calendar API for any configured market: phases, sessions, opens and closes, the last
closed session and the next open — across DST, early closes, holidays, Seollal and Tokyo's
lunch break; markets are configuration, and a market added in config gets its checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, time

import pandas as pd
import pytest

from bot.domain.markets import KOREA, US, Market, SessionCorrection, markets
from bot.domain.model import PrintKind
from bot.ports import DailyBars, FeedTick
from bot.settings import build_settings, load_settings
from jobs.market_jobs import SchedulerSettings, market_jobs
from jobs.scheduler import Scheduler
from tests.fakes.schedule_store import ScheduleStore
from tests.feeds.conftest import StepClock

SHIPPED = load_settings(env={"SPUTNIK_CONFIG": os.devnull}).market_book()
TOKYO, EUROPE, CME = (SHIPPED.markets[name] for name in ("tokyo", "europe", "cme"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_new_york_open_follows_daylight_saving_in_utc() -> None:
    before, after = pd.Timestamp("2025-03-07"), pd.Timestamp("2025-03-10")  # DST: 9 March
    assert US.open_of(before) == utc("2025-03-07T14:30")
    assert US.open_of(after) == utc("2025-03-10T13:30")
    assert US.phase(utc("2025-03-10T08:00")) == "pre"  # 04:00 EDT: the window opens
    assert US.phase(utc("2025-03-07T08:00")) == "closed"  # 03:00 EST: not yet
    assert US.close_of(pd.Timestamp("2025-11-03")) == utc("2025-11-03T21:00")  # EST again


def test_an_early_close_ends_the_session_at_one_and_post_market_follows() -> None:
    friday = pd.Timestamp("2025-11-28")
    assert US.close_of(friday) == utc("2025-11-28T18:00")
    assert US.phase(utc("2025-11-28T17:59")) == "regular"
    assert US.phase(utc("2025-11-28T18:01")) == "post"
    assert US.phase(utc("2025-11-29T01:01")) == "closed"  # 20:01 New York
    assert US.last_closed_session(utc("2025-11-28T18:30")) == (friday, utc("2025-11-28T18:00"))


def test_a_holiday_has_no_session_and_the_next_open_is_the_day_after() -> None:
    moment = utc("2025-01-09T15:00")  # national day of mourning: NYSE closed
    assert US.session_of(moment) is None and US.phase(moment) == "closed"
    assert US.next_open(moment) == utc("2025-01-10T14:30")
    assert US.last_closed_session(moment) == (pd.Timestamp("2025-01-08"), utc("2025-01-08T21:00"))
    assert US.reference_session(moment) == pd.Timestamp("2025-01-08")


def test_seollal_closes_krx_from_the_27th_to_the_30th() -> None:
    for day in ("2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30"):
        assert KOREA.session_of(utc(f"{day}T02:00")) is None, day
    assert KOREA.next_open(utc("2025-01-27T00:00")) == utc("2025-01-31T00:00")  # 09:00 KST
    closed = KOREA.last_closed_session(utc("2025-01-29T12:00"))
    assert closed == (pd.Timestamp("2025-01-24"), utc("2025-01-24T06:30"))
    assert KOREA.phase(utc("2025-01-31T01:00")) == "regular"


def test_tokyo_has_a_lunch_break_inside_its_regular_session() -> None:
    assert TOKYO.phase(utc("2025-01-06T01:00")) == "regular"  # 10:00 JST
    assert TOKYO.phase(utc("2025-01-06T02:45")) == "break"  # 11:45 JST
    assert TOKYO.phase(utc("2025-01-06T04:00")) == "regular"  # 13:00 JST
    assert TOKYO.break_of(pd.Timestamp("2025-01-06")) == (
        utc("2025-01-06T02:30"),
        utc("2025-01-06T03:30"),
    )
    assert TOKYO.phase(utc("2025-01-06T07:00")) == "closed"  # no post-market configured


def test_tokyo_closed_at_three_until_2024_11_05_and_at_half_past_three_since() -> None:
    before, since = pd.Timestamp("2024-11-01"), pd.Timestamp("2024-11-05")
    assert TOKYO.close_of(before) == utc("2024-11-01T06:00")  # 15:00 JST
    assert TOKYO.close_of(since) == utc("2024-11-05T06:30")  # 15:30 JST
    assert TOKYO.phase(utc("2024-11-01T06:15")) == "closed"  # 15:15 JST: after the close
    assert TOKYO.phase(utc("2024-11-05T06:15")) == "regular"  # 15:15 JST: still trading
    assert TOKYO.last_closed_session(utc("2024-11-05T06:20")) == (
        before,
        utc("2024-11-01T06:00"),
    )
    assert TOKYO.close_of(pd.Timestamp("2025-01-27")) == utc("2025-01-27T06:30")  # 01:30 ET


def test_cme_futures_trade_from_six_in_the_evening_to_five_new_york_time() -> None:
    monday = pd.Timestamp("2025-01-27")
    assert CME.open_of(monday) == utc("2025-01-26T23:00")  # Sunday 18:00 New York
    assert CME.close_of(monday) == utc("2025-01-27T22:00")  # Monday 17:00 New York
    assert CME.session_of(utc("2025-01-26T23:30")) == monday
    assert CME.phase(utc("2025-01-26T23:30")) == "regular"
    assert CME.phase(utc("2025-01-27T14:30")) == "regular"  # New York's open
    assert CME.phase(utc("2025-01-27T22:30")) == "closed"  # the 17:00-18:00 maintenance halt
    assert CME.session_of(utc("2025-01-27T23:00")) == pd.Timestamp("2025-01-28")
    assert CME.phase(utc("2025-01-25T15:00")) == "closed"  # Saturday
    assert CME.next_open(utc("2025-01-24T22:30")) == utc("2025-01-26T23:00")  # Friday's halt


def test_amsterdam_opens_at_three_new_york_time_in_winter() -> None:
    monday = pd.Timestamp("2025-01-27")
    assert EUROPE.open_of(monday) == utc("2025-01-27T08:00")  # 09:00 CET = 03:00 ET
    assert EUROPE.close_of(monday) == utc("2025-01-27T16:30")  # 17:30 CET = 11:30 ET
    assert EUROPE.phase(utc("2025-01-27T08:00")) == "regular"


def test_a_session_correction_opens_the_evening_before_and_keeps_the_halt_closed() -> None:
    chicago = Market(
        "cme", "CMES", "America/Chicago", correction=SessionCorrection(time(17, 0), time(16, 0))
    )
    evening = utc("2025-01-27T23:30")  # 17:30 Chicago on Monday: Tuesday's session
    assert chicago.session_of(evening) == pd.Timestamp("2025-01-28")
    assert chicago.open_of(pd.Timestamp("2025-01-28")) == utc("2025-01-27T23:00")
    assert chicago.close_of(pd.Timestamp("2025-01-28")) == utc("2025-01-28T22:00")
    assert chicago.phase(evening) == "regular"
    assert chicago.phase(utc("2025-01-28T22:30")) == "closed"  # the 16:00-17:00 halt


def test_prints_are_labelled_by_their_own_market() -> None:
    moment = utc("2025-01-27T15:00")  # NYSE regular; KRX closed for Seollal
    assert US.print_session(moment) == "regular"
    assert KOREA.print_session(moment) == "post"
    assert markets().for_symbol("000660.KS") == KOREA
    assert markets().for_symbol("NVDA") == US


def test_the_shipped_markets_are_the_ones_the_settings_validate() -> None:
    assert list(SHIPPED.markets) == ["us", "korea", "tokyo", "europe", "xetra", "cme", "fx"]
    assert SHIPPED.markets["us"] == US and SHIPPED.markets["korea"] == KOREA
    assert SHIPPED.default == US


def test_each_shipped_symbol_trades_on_its_own_market() -> None:
    symbols = ["NVDA", "ASML", "^KS11", "000660.KS", "^N225", "6857.T", "ASML.AS", "^GDAXI"]
    symbols += ["^STOXX50E", "NQ=F", "YM=F", "JPY=X"]
    where = {symbol: SHIPPED.for_symbol(symbol).name for symbol in symbols}
    assert where == {
        "NVDA": "us",
        "ASML": "us",  # the New York listing
        "^KS11": "korea",
        "000660.KS": "korea",
        "^N225": "tokyo",
        "6857.T": "tokyo",
        "ASML.AS": "europe",
        "^GDAXI": "xetra",
        "^STOXX50E": "europe",
        "NQ=F": "cme",
        "YM=F": "cme",
        "JPY=X": "fx",
    }


def test_an_unknown_calendar_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as refused:
        build_settings({"markets": {"tokyo": {"calendar": "XTKY", "zone": "Asia/Tokyo"}}})
    message = str(refused.value)
    assert message.startswith('[markets.tokyo] calendar: "XTKY" is not an exchange_calendars')
    assert "XTKS" in message and "XNYS" in message


class RecordingQuotes:
    """The `LiveQuotes` port, recording what the jobs ask of it."""

    def __init__(self, symbols: Sequence[str], clock: StepClock) -> None:
        self.symbols = list(symbols)
        self.clock = clock
        self.polls: list[list[str] | None] = []

    async def poll_tick(
        self,
        kind: PrintKind | None = None,
        *,
        force: bool = False,
        symbols: Sequence[str] | None = None,
    ) -> FeedTick | None:
        self.polls.append(list(symbols) if symbols is not None else None)
        return None

    async def close_tick(
        self, bars: DailyBars, session: pd.Timestamp, symbols: Sequence[str], now: datetime
    ) -> FeedTick | None:
        return None

    async def catch_up(self, bars: DailyBars, symbols: Sequence[str] | None = None) -> None:
        return None


async def test_a_market_added_in_config_gets_its_checks_without_code() -> None:
    settings = build_settings(
        {
            "markets": {
                "hongkong": {
                    "calendar": "XHKG",
                    "zone": "Asia/Hong_Kong",
                    "suffixes": [".HK"],
                    "open_check": "09:31",
                    "close_checks": ["16:00"],
                }
            }
        }
    )
    book = settings.market_book()
    clock = StepClock(utc("2025-01-06T00:00:30"))
    live = RecordingQuotes(["NVDA", "0700.HK", "000660.KS"], clock)
    jobs = market_jobs(live, None, SchedulerSettings(), book=book)
    assert [job.id for job in jobs] == [
        "nyse-open",
        "poll",
        "nyse-close",
        "krx-open",
        "krx-close",
        "tse-open",
        "tse-close",
        "euronext-open",
        "euronext-close",
        "xhkg-open",
        "xhkg-close",
    ]
    hong_kong_open = [job for job in jobs if job.id == "xhkg-open"]
    scheduler = Scheduler(hong_kong_open, clock, ScheduleStore())
    assert scheduler.next_due() == utc("2025-01-06T01:31")  # 09:31 HKT
    clock.current = utc("2025-01-06T01:31:02")
    assert [o.outcome for o in await scheduler.run_due()] == ["ran"]
    assert live.polls == [["0700.HK"]]  # the Hong Kong symbols only


async def test_a_symbol_is_polled_while_its_own_market_trades_and_a_closed_one_is_not() -> None:
    clock = StepClock(utc("2025-01-31T00:59:30"))  # NYSE closed; KRX 09:59:30 KST
    live = RecordingQuotes(["NVDA", "000660.KS"], clock)
    [poll] = [job for job in market_jobs(live, None, SchedulerSettings()) if job.id == "poll"]
    await poll.run(utc("2025-01-31T01:00"))  # 10:00 Seoul: KRX trades
    await poll.run(utc("2025-01-27T01:00"))  # Seollal: nobody trades
    await poll.run(utc("2025-01-27T15:00"))  # NYSE trades, KRX closed: the US symbols
    assert live.polls == [["000660.KS"], ["NVDA"]]
