"""One warning that follows the sun (issue 19 item 2): the DeepSeek day replayed round the
clock through the real evaluate → claim → outbox → delivery path on the manual clock, then
its 06:30 Seoul digest, on every store. The chain lives in the store, keyed by the trading
day; it starts at Tokyo's close (01:30 New York), 8 h 00 m before the bell."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from bot.chat.text import render_text
from bot.domain.model import ChannelRef
from bot.harness import HARNESS_PLATFORM, Harness
from bot.services import Core

SEOUL = ChannelRef(HARNESS_PLATFORM, "local", "seoul")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_the_deepseek_day_warns_from_tokyo_and_every_later_alert_links_to_it(
    core: Core, store_url: str
) -> None:
    bot = await Harness.start(core, store_url)
    try:
        await bot.run("/subscribe alerts early_warning")  # the whole chain, one subscription
        await bot.run("/subscribe alerts chip_crash")  # and one of its presets as well
        await bot.run("/timezone America/New_York")
        await bot.run("/lang ko", channel=SEOUL)
        await bot.run("/subscribe alerts early_warning", channel=SEOUL)
        await bot.replay_day("2025-01-27")
        chain = await bot.services.store.chain(date(2025, 1, 27))
    finally:
        await bot.close()

    # the chain, time-ordered: a preset is linked when it first fires and when it escalates
    assert [(link.at, link.rule_id, link.severity, link.label, link.stage) for link in chain] == [
        (utc("2025-01-27T15:30+09:00"), "tokyo_deepseek", "warning", "ADVANTEST", "close"),
        (utc("2025-01-27T09:00+01:00"), "europe_chip_crash", "notice", "ASML_AS", "open"),
        (utc("2025-01-27T09:00+01:00"), "europe_deepseek", "warning", "ASML_AS", "open"),
        (utc("2025-01-27T04:40-05:00"), "chip_crash", "notice", "SOX (SMH)", "pre"),
        (utc("2025-01-27T05:10-05:00"), "chip_crash", "warning", "SOX (SMH)", "pre"),
        (utc("2025-01-27T09:30-05:00"), "nvda_decoupling", "warning", "NVDA", "open"),
        (utc("2025-01-27T16:00-05:00"), "ai_power_unwind", "critical", "VST", "close"),
        (utc("2025-01-27T16:00-05:00"), "deepseek", "critical", "SOX", "close"),
        (utc("2025-01-27T16:00-05:00"), "nvda_decoupling", "critical", "NVDA", "close"),
    ]
    first = chain[0]
    assert first.value == pytest.approx(-8.61, abs=0.005) and first.market == "tokyo"
    assert [link.early for link in chain] == [True] * 5 + [False] * 4  # 09:30 is the bell

    here = bot.received()
    # one print makes one message per channel, though two of its subscriptions match it
    alerts = [d for d in here if "digest" not in d.card.title]
    assert max(Counter(d.card.footer.as_of for d in alerts).values()) == 1
    assert len(alerts) == 6  # Tokyo's close, Amsterdam's open, 04:40, 05:10, the open, the close
    tokyo = render_text(alerts[0].card, "en", zone="America/New_York")
    assert alerts[0].card.title.startswith("Early warning · Tokyo decoupling")
    assert "ADVANTEST −8.61 %" in tokyo and "N225 −0.92 %" in tokyo
    # its stage is Tokyo's own close, not New York's pre-market
    assert "Print: Mon 27 Jan 2025 01:30 EST · TSE close 15:30 JST" in tokyo
    assert "pre-market" not in tokyo
    assert "NYSE opens in 8 h 00 m; `deepseek` watches SOX, DJI at the open" in tokyo
    assert "most exposed US names (daily correlation" in tokyo
    assert "First warning" not in tokyo  # nothing warned before it
    amsterdam = render_text(alerts[1].card, "en", zone="America/New_York")
    assert "Early warning · 2 alerts at the Euronext open" in amsterdam
    assert "Print: Mon 27 Jan 2025 03:00 EST · Euronext open 09:00 CET" in amsterdam

    later = [render_text(d.card, "en", zone="America/New_York") for d in alerts[1:]]
    assert all(
        "First warning: 01:30 ET / 15:30 JST from TSE close: ADVANTEST −8.61 %" in t for t in later
    )
    premarket = later[1]
    assert "Early warning · Chip crash" in premarket and "NYSE opens in 4 h 50 m" in premarket
    assert "Session: pre-market — before the opening bell" in premarket
    close = later[-1]
    assert "Early-warning chain" in close and "04:40 ET · NYSE pre-market" in close

    seoul = [d.card for d in bot.received(SEOUL)]
    assert seoul[0].title.startswith("조기 경보 · 도쿄 디커플링")
    tokyo_ko = render_text(seoul[0], "ko", zone="Asia/Seoul")
    assert "시점: 2025년 1월 27일 (월) 15:30 KST · TSE 종가 15:30 JST" in tokyo_ko
    seen = render_text(seoul[1], "ko", zone="Asia/Seoul")
    assert "첫 경고: 01:30 ET / 15:30 KST TSE 종가 시장에서: ADVANTEST −8.61 %" in seen


async def test_the_days_digest_lists_the_chain_from_the_first_warning_in_time_order(
    core: Core,
) -> None:
    bot = await Harness.start(core, "memory://")
    try:
        await bot.run("/subscribe digest 06:30 Asia/Seoul")
        await bot.run("/timezone Asia/Seoul")
        await bot.run("/lang ko", channel=SEOUL)
        await bot.run("/subscribe digest 06:30 Asia/Seoul", channel=SEOUL)
        delivered = await bot.replay_day("2025-01-27")
    finally:
        await bot.close()

    # the digest of New York's Monday, at 06:30 Seoul on Tuesday: nothing else was subscribed
    [english] = [d for d in delivered if d.channel.ref == bot.channel]
    assert english.card.footer.as_of == utc("2025-01-28T06:30+09:00")
    text = render_text(english.card, "en", zone="Asia/Seoul")
    chain = text[text.index("The early-warning chain") :].splitlines()[1:6]
    assert [line.strip() for line in chain] == [
        "01:30 ET / 15:30 KST · TSE close · tokyo_deepseek [warning] ADVANTEST −8.61 %",
        "… and 3 more",
        "05:10 ET / 19:10 KST · NYSE pre-market · chip_crash [warning] SOX (SMH) −7.08 %",
        "09:30 ET / 23:30 KST · NYSE open · nvda_decoupling [warning] NVDA −12.49 %",
        "16:00 ET / 06:00 KST · NYSE close · ai_power_unwind [critical] VST −28.27 %; "
        "deepseek [critical] SOX −9.15 %; nvda_decoupling [critical] NVDA −16.97 %",
    ]
    [korean] = bot.received(SEOUL)
    seen = render_text(korean.card, "ko", zone="Asia/Seoul")
    assert "조기 경보 흐름 — 첫 경고부터 시간순" in seen
    assert "TSE 종가 · tokyo_deepseek [warning] ADVANTEST −8.61 %" in seen
