"""The 06:30 digest carries the three most recent relevant headlines since the last close."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build_services
from bot.domain.digest_card import build_digest_card
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.services import Core, ManualClock, Services
from bot.stores.memory import MemoryStore
from jobs.digest import DigestSettings, run_digests
from tests.fakes.news_fakes import YahooNewsFake, ticker_item
from tests.news.conftest import PRINT, MakeDesk

SEOUL = ChannelRef("discord", "4004", "5005")
LONDON = ChannelRef("slack", "T1", "C1")
SLOT = datetime(2025, 1, 27, 21, 30, 20, tzinfo=UTC)
"""06:30 Seoul on 2025-01-28: half an hour after the DeepSeek session closed."""


@pytest.fixture
async def store() -> MemoryStore:
    """The in-memory store: a Seoul channel on the 06:30 digest, a London one on 21:30 UTC."""
    store = MemoryStore()
    await store.upsert_channel(Channel(SEOUL, "ko", "Asia/Seoul"))
    await store.upsert_channel(Channel(LONDON, "en", "Europe/London"))
    await store.add_subscription(
        Subscription(SEOUL, "digest", kind="digest", digest_time="06:30", digest_zone="Asia/Seoul")
    )
    await store.add_subscription(
        Subscription(LONDON, "digest", kind="digest", digest_time="21:30", digest_zone="UTC")
    )
    return store


@pytest.fixture
def services(core: Core, store: MemoryStore) -> Services:
    return build_services(core, store, clock=ManualClock(SLOT))


def serve(yahoo: YahooNewsFake) -> None:
    at = PRINT  # the close, 21:00 UTC
    yahoo.ticker_news["^SOX"] = [
        ticker_item("Chip stocks end at lows", at + timedelta(minutes=5), publisher="Reuters"),
        ticker_item("Chip stocks: what happened today", at - timedelta(hours=1), publisher="CNBC"),
        ticker_item("Chip stocks fall in after-hours", at + timedelta(minutes=40), publisher="AP"),
    ]
    yahoo.ticker_news["^DJI"] = [
        ticker_item(
            "Dow closes higher as money rotates", at + timedelta(minutes=2), publisher="WSJ"
        ),
    ]
    # Marvell, one of the day's biggest movers (the digest asks about SOX, the Dow, then the
    # biggest movers as far as [news] max_symbols goes: VST, CEG, VIX, MRVL).
    yahoo.ticker_news["MRVL"] = [
        ticker_item("Marvell posts record loss", at + timedelta(minutes=20), publisher="FT"),
        ticker_item("Marvell's loss in numbers", at + timedelta(minutes=25), publisher="Barron's"),
    ]


async def test_the_digest_carries_the_three_most_recent_headlines_since_the_close(
    services: Services, store: MemoryStore, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    services.news = make_desk()
    outcomes = await run_digests(services, SLOT, DigestSettings())
    assert [o.outcome for o in outcomes] == ["queued", "queued"]
    seoul, london = await store.list_outbox()
    titles = [item["title"] for item in seoul.payload["news"]["items"]]
    assert titles == [
        "Marvell's loss in numbers",
        "Marvell posts record loss",
        "Chip stocks end at lows",
    ]
    assert london.payload["news"] == seoul.payload["news"]
    # Fetched once for the run, not once per channel.
    assert Counter(yahoo.news_asked) == {
        (kind, symbol): 1
        for kind in ("ticker", "search")
        for symbol in ("^SOX", "^DJI", "VST", "CEG", "^VIX", "MRVL")
    }
    card = build_digest_card(
        services, Channel(SEOUL, "ko", "Asia/Seoul"), seoul.payload, chart=False
    )
    lines = {f.name: f.value for f in card.fields}[
        "지난 종가 이후 뉴스 헤드라인 (보도 내용이며 전문가 견해가 아님)"
    ]
    assert lines.splitlines()[0].startswith(
        "[1] Marvell's loss in numbers — Barron's · 1월 28일 06:25 KST"
    )


async def test_a_replayed_digest_fetches_nothing_and_says_why(
    services: Services, store: MemoryStore, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve(yahoo)
    services.news = make_desk()
    await run_digests(services, SLOT, DigestSettings(), replay_of="2025-01-27")
    assert yahoo.news_asked == []
    seoul, _london = await store.list_outbox()
    payload = seoul.payload
    assert "news" not in payload
    card = build_digest_card(services, Channel(SEOUL, "en", "Asia/Seoul"), payload, chart=False)
    assert {f.name: f.value for f in card.fields}[
        "Headlines since the close (news reports, not expert views)"
    ] == (
        "No headlines in a replay: there is no news archive, and today's news on a past card "
        "would mislead."
    )
