"""Data that says how old it is: the session's close, and the sessions of its market since."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.chat.text import render_text
from bot.domain.freshness import freshness
from bot.harness import Harness
from bot.services import Core

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_a_close_from_august_read_in_december_is_73_nyse_sessions_old() -> None:
    age = freshness(date(2026, 8, 21), "NVDA", NOW)
    assert age.sessions_since == 73 and age.stale
    assert age.describe("en") == "as of Fri 21 Aug 2026 16:00 ET — 73 NYSE sessions ago (stale)"
    assert age.describe("ko") == (
        "2026년 8월 21일 (금) 16:00 ET 기준 — NYSE 73거래일 전 자료 (오래된 시세)"
    )


def test_the_latest_closed_session_is_current_and_says_when_it_closed() -> None:
    age = freshness(date(2025, 1, 27), "^SOX", datetime(2025, 1, 27, 21, 30, tzinfo=UTC))
    assert not age.stale
    assert age.describe("en") == "as of Mon 27 Jan 2025 16:00 ET"


def test_a_session_still_open_does_not_count_and_seollal_is_no_session() -> None:
    # Seoul closed 2025-01-27 → 01-30; on 01-31 at 09:00 KST that day's session is still open.
    age = freshness(date(2025, 1, 24), "000660.KS", datetime(2025, 1, 31, 0, 0, tzinfo=UTC))
    assert age.sessions_since == 0
    assert age.describe("en") == "as of Fri 24 Jan 2025 15:30 KST"
    later = freshness(date(2025, 1, 24), "000660.KS", datetime(2025, 1, 31, 7, 0, tzinfo=UTC))
    assert later.sessions_since == 1 and later.describe("en").endswith("1 KRX sessions ago (stale)")


async def test_quote_and_shock_mark_old_figures_stale_and_name_each_date(
    core: Core, tmp_path: Path
) -> None:
    harness = await Harness.start(core, f"sqlite:///{tmp_path / 's.db'}", now=NOW)
    try:
        quotes = render_text(await harness.run("/quote"), "en")
        assert "as of Fri 21 Aug 2026 16:00 ET — 73 NYSE sessions ago (stale)" in quotes
        assert "as of Fri 25 Sep 2026 16:00 ET — 49 NYSE sessions ago (stale)" in quotes  # DIA
        latest = await harness.run("/shock NVDA")
        assert latest.banner == "as of Fri 21 Aug 2026 16:00 ET — 73 NYSE sessions ago (stale)"
        asked = await harness.run("/shock NVDA 2025-01-27")
        assert asked.banner == ""  # a session the user named is history, not a stale quote
    finally:
        await harness.close()


def test_doctor_warns_for_each_market_whose_history_is_behind(core: Core) -> None:
    from bot.cli.doctor import freshness_checks

    checks = freshness_checks(core.market, NOW)
    assert checks[0] == (
        "warn",
        "freshness NYSE",
        "as of Fri 21 Aug 2026 16:00 ET — 73 NYSE sessions ago (stale)",
    )
    assert checks[1][:2] == ("warn", "freshness KRX")
    current = freshness_checks(core.market, datetime(2026, 8, 21, 21, 0, tzinfo=UTC))
    assert current[0] == ("ok", "freshness NYSE", "as of Fri 21 Aug 2026 16:00 ET")
