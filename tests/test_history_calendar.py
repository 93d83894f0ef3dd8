"""Market calendars: built once, NYSE back to 1990, KRX from its earliest allowed start."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.domain.calendars import session_calendar, sessions_between
from bot.domain.markets import calendar_for_symbol


def test_session_calendar_is_built_once_per_name() -> None:
    assert session_calendar("XNYS") is session_calendar("XNYS")


def test_nyse_calendar_reaches_back_to_1990() -> None:
    assert session_calendar("XNYS").first_session == pd.Timestamp("1990-01-02")


def test_krx_calendar_starts_at_the_earliest_start_it_allows() -> None:
    assert session_calendar("XKRX").first_session < pd.Timestamp("1960-01-01")


@pytest.mark.parametrize(
    ("symbol", "calendar"),
    [("000660.KS", "XKRX"), ("035720.KQ", "XKRX"), ("005930.ks", "XKRX"), ("^SOX", "XNYS"),
     ("NVDA", "XNYS"), ("DIA", "XNYS")],
)  # fmt: skip
def test_calendar_for_symbol_maps_korean_suffixes_to_krx(symbol: str, calendar: str) -> None:
    assert calendar_for_symbol(symbol) == calendar


def test_sessions_between_returns_tz_naive_midnights_without_holidays() -> None:
    days = sessions_between("XNYS", "2025-01-06", pd.Timestamp("2025-01-13"))
    assert days.tz is None and days.name == "date"
    assert list(days.strftime("%Y-%m-%d")) == [
        "2025-01-06", "2025-01-07", "2025-01-08", "2025-01-10", "2025-01-13"
    ]  # fmt: skip


def test_sessions_between_knows_seollal_2025_in_korea() -> None:
    days = sessions_between("XKRX", "2025-01-24", "2025-01-31")
    assert list(days.strftime("%Y-%m-%d")) == ["2025-01-24", "2025-01-31"]


def test_sessions_between_clips_to_the_calendars_bounds() -> None:
    assert sessions_between("XNYS", "1980-01-01", "1990-01-03")[0] == pd.Timestamp("1990-01-02")
    assert len(sessions_between("XNYS", "1980-01-01", "1985-01-01")) == 0


def test_krx_was_closed_for_the_2026_local_elections() -> None:
    krx = session_calendar("XKRX")
    assert not krx.is_session("2026-06-03")
    assert krx.is_session("2026-06-04")
