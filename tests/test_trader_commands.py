"""The commands traders expect (issue 23 item 2): /snooze, /digest now and /watchlist, through
the real handlers, store, outbox and delivery worker, on both stores, time from the Clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from bot.chat.text import render_text
from bot.domain.cards import Severity
from bot.domain.model import AlertEvent, ChannelRef
from bot.domain.snooze import SnoozeError, build_snooze_summary, parse_snooze
from bot.harness import Harness
from bot.services import Core
from jobs.digest import digest_payload
from jobs.snooze import release_ended_snoozes
from tests.stores.conftest import redis_prefix, store_url

__all__ = ["redis_prefix", "store_url"]

SEOUL = ZoneInfo("Asia/Seoul")
BEFORE_CLOSE = datetime(2025, 1, 27, 20, 0, tzinfo=UTC)  # 15:00 in New York, 05:00 in Seoul


@pytest.fixture
async def harness(core: Core, store_url: str) -> AsyncIterator[Harness]:
    """The harness on each store, its clock an hour before the DeepSeek close."""
    bot = await Harness.start(core, store_url, now=BEFORE_CLOSE)
    yield bot
    await bot.close()


# --- reading /snooze -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "until", "drop"),
    [
        (["2h"], datetime(2025, 1, 27, 22, 0, tzinfo=UTC), False),
        (["1h30m", "drop"], datetime(2025, 1, 27, 21, 30, tzinfo=UTC), True),
        (["2시간", "버리기"], datetime(2025, 1, 27, 22, 0, tzinfo=UTC), True),
        (["until", "09:30"], datetime(2025, 1, 28, 9, 30, tzinfo=SEOUL), False),
        (["09:30까지"], datetime(2025, 1, 28, 9, 30, tzinfo=SEOUL), False),
        (["until", "04:00"], datetime(2025, 1, 29, 4, 0, tzinfo=SEOUL), False),  # 05:00 there
        (["tomorrow"], datetime(2025, 1, 29, 8, 0, tzinfo=SEOUL), False),
        (["내일", "drop"], datetime(2025, 1, 29, 8, 0, tzinfo=SEOUL), True),
    ],
)
def test_snooze_reads_durations_clock_times_and_tomorrow_in_the_channels_zone(
    words: list[str], until: datetime, drop: bool
) -> None:
    request = parse_snooze(words, BEFORE_CLOSE, SEOUL)
    assert (request.until, request.drop, request.off) == (until, drop, False)


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["banana"], "snooze.error_words"),
        (["8d"], "snooze.error_too_long"),
        (["drop"], "snooze.error_drop_alone"),
        (["0m"], "snooze.error_words"),
    ],
)
def test_snooze_refuses_what_it_cannot_read(words: list[str], key: str) -> None:
    with pytest.raises(SnoozeError) as caught:
        parse_snooze(words, BEFORE_CLOSE, SEOUL)
    assert caught.value.key == key


def test_a_snooze_summary_lists_ten_alerts_then_says_how_many_more() -> None:
    events = [
        AlertEvent(
            "custom:NVDA.pct <= -8" if n % 2 else "deepseek",
            date(2025, 1, 27),
            3 if n == 11 else 2,
            "critical" if n == 11 else "warning",
            BEFORE_CLOSE + timedelta(minutes=n),
            {"expression": "NVDA.pct <= -8"} if n % 2 else {},
        )
        for n in range(12)
    ]
    card = build_snooze_summary(
        events,
        locale="en",
        zone=SEOUL,
        names={"NVDA.pct <= -8": "mine"},
        ended=BEFORE_CLOSE + timedelta(hours=2),
        source="test",
    )
    lines = card.text.splitlines()
    assert card.title == "12 alerts while this channel was snoozed"
    assert len(lines) == 11 and lines[-1] == "… and 2 more"
    assert lines[0] == "• Tue 28 Jan 2025 05:00 KST · deepseek [warning]"
    assert lines[1].endswith("· mine: NVDA.pct <= -8 [warning]")
    assert card.severity is Severity.CRITICAL, "the strongest alert's, even one not listed"


# --- /snooze end to end --------------------------------------------------------------------


async def test_alerts_held_during_a_snooze_arrive_as_one_summary_when_it_ends(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts deepseek")
    await harness.run('/rules add mine "NVDA.pct <= -10"')
    card = await harness.run("/snooze 2h")
    assert "paused until Mon 27 Jan 2025 22:00 UTC" in card.text
    assert await harness.replay_print("2025-01-27", "close") == [], "held, not sent"
    assert await release_ended_snoozes(harness.services, harness.clock.now()) == 0
    harness.clock.set(BEFORE_CLOSE + timedelta(hours=2))
    assert await release_ended_snoozes(harness.services, harness.clock.now()) == 1
    [summary] = await harness.deliver()
    assert summary.card.title == "2 alerts while this channel was snoozed"
    text = render_text(summary.card, "en")
    assert "deepseek [critical]" in text and "mine: NVDA.pct <= -10 [warning]" in text
    assert "NVDA −16.97 %" in text
    assert summary.card.severity is Severity.CRITICAL
    assert await release_ended_snoozes(harness.services, harness.clock.now()) == 0, "once"
    assert await harness.deliver() == []
    events = await harness.services.store.alert_history(harness.channel)
    assert {e.rule_id for e in events} == {"deepseek", "custom:NVDA.pct <= -10"}


async def test_a_drop_snooze_sends_nothing_when_it_ends(harness: Harness) -> None:
    await harness.run("/subscribe alerts deepseek")
    card = await harness.run("/snooze 2h drop")
    assert "Alerts that come meanwhile are dropped." in card.text
    assert await harness.replay_print("2025-01-27", "close") == []
    harness.clock.set(BEFORE_CLOSE + timedelta(hours=3))
    assert await release_ended_snoozes(harness.services, harness.clock.now()) == 1
    assert await harness.deliver() == []


async def test_snooze_off_ends_it_at_once_and_sends_the_summary(harness: Harness) -> None:
    await harness.run("/lang ko")
    await harness.run("/subscribe alerts deepseek")
    await harness.run("/snooze tomorrow")
    assert await harness.replay_print("2025-01-27", "close") == []
    card = await harness.run("/snooze off")
    assert card.text == "알림을 다시 보냅니다. 멈춘 동안 온 알림 1건을 한 번에 요약해 보냅니다."
    [summary] = await harness.deliver()
    assert summary.card.title == "알림을 멈춘 동안 온 알림 1건"
    assert "deepseek [심각]" in summary.card.text
    assert (await harness.run("/snooze off")).text.startswith("이 채널의 알림은 멈춰 있지 않습니다")


async def test_alerts_after_a_snooze_ends_are_sent_as_usual(harness: Harness) -> None:
    await harness.run("/subscribe alerts deepseek")
    await harness.run("/snooze 30m")
    harness.clock.set(BEFORE_CLOSE + timedelta(minutes=31))
    assert len(await harness.replay_print("2025-01-27", "close")) == 1


async def test_only_an_admin_snoozes_and_everyone_sees_it_in_the_settings(
    harness: Harness,
) -> None:
    denied = await harness.run("/snooze 2h", can_admin=False)
    assert denied.severity is Severity.ERROR and "permission" in denied.text
    await harness.run("/snooze 2h")
    card = await harness.run("/help", can_admin=False)
    fields = {field.name: field.value for field in card.fields}
    assert fields["Snooze"] == "paused until Mon 27 Jan 2025 22:00 UTC — one summary when it ends"
    help_card = await harness.run("/help snooze")
    assert "add drop to discard" in help_card.fields[0].value
    assert "'and N more'" in help_card.fields[0].value


# --- /digest now and /watchlist -------------------------------------------------------------


async def test_digest_now_sends_the_digest_at_once_and_at_most_every_ten_minutes(
    harness: Harness,
) -> None:
    harness.clock.set(datetime(2025, 1, 27, 22, 0, tzinfo=UTC))
    card = await harness.run("/digest now", can_admin=False)
    assert card.title == "US market digest — Mon 27 Jan 2025"
    fields = {field.name: field.value for field in card.fields}
    assert fields["SOX"] == "−9.15 %"
    assert card.chart_png is not None
    harness.clock.set(datetime(2025, 1, 27, 22, 9, 59, tzinfo=UTC))
    again = await harness.run("/digest now")
    assert again.severity is Severity.ERROR
    assert "the last was at Mon 27 Jan 2025 22:00 UTC, the next from" in again.text
    other = await harness.run("/digest now", channel=ChannelRef("test", "x", "y"))
    assert other.severity is not Severity.ERROR, "per channel"
    harness.clock.set(datetime(2025, 1, 27, 22, 10, tzinfo=UTC))
    assert (await harness.run("/digest now")).severity is not Severity.ERROR


async def test_the_watchlist_decides_the_digests_movers(harness: Harness, core: Core) -> None:
    shown = await harness.run("/watchlist show")
    default = shown.fields[0]
    assert default.name.startswith("The default list") and "NVDA" in default.value
    denied = await harness.run("/watchlist add AMD", can_admin=False)
    assert denied.severity is Severity.ERROR and "permission" in denied.text
    await harness.run("/watchlist remove default")
    card = await harness.run("/watchlist remove SOX NVDA AVGO TSM MU MRVL ASML AAPL VST CEG")
    assert card.fields[0].name == "This channel's list"
    assert "NVDA" not in card.fields[0].value
    bad = await harness.run("/watchlist remove NVDA")
    assert bad.text == "NVDA is not on this channel's list. See /watchlist show."
    unknown = await harness.run("/watchlist add SOXY")
    assert "SOX" in unknown.text and unknown.severity is Severity.ERROR
    await harness.run("/watchlist add 엔비디아")
    session = pd.Timestamp("2025-01-27")
    snapshot = core.market.snapshot(session, "close")
    await harness.run("/subscribe digest 06:30")
    [digest] = await harness.services.store.list_subscriptions(harness.channel)
    payload = await digest_payload(
        harness.services,
        digest,
        snapshot,
        session,
        BEFORE_CLOSE,
        0.0,
        core.settings.digest,
    )
    labels = [mover["label"] for mover in payload["movers"]]
    assert "NVDA" in labels and "AVGO" not in labels and "TSM" not in labels
    await harness.run("/watchlist remove default")
    payload = await digest_payload(
        harness.services, digest, snapshot, session, BEFORE_CLOSE, 0.0, core.settings.digest
    )
    assert "AVGO" in [mover["label"] for mover in payload["movers"]]
