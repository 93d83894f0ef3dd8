"""Daily digests: the Seoul morning after the US close, sent once, late within the grace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import build_services
from bot.domain.digest_card import build_digest_card
from bot.domain.model import Channel, ChannelRef, OutboxItem, Subscription
from bot.services import Core, Services
from bot.stores.memory import MemoryStore
from jobs.digest import DigestSettings, run_digests

CHANNEL = ChannelRef("discord", "4004", "5005")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
async def store() -> MemoryStore:
    """The in-memory store with one channel subscribed to the 06:30 Seoul digest."""
    store = MemoryStore()
    await store.upsert_channel(Channel(CHANNEL, "ko", "Asia/Seoul"))
    await store.add_subscription(
        Subscription(
            CHANNEL, "digest", kind="digest", digest_time="06:30", digest_zone="Asia/Seoul"
        )
    )
    return store


@pytest.fixture
def services(core: Core, store: MemoryStore) -> Services:
    return build_services(core, store)


async def queued(store: MemoryStore) -> list[OutboxItem]:
    """The digests waiting in the outbox, oldest first."""
    return [item for item in await store.list_outbox() if item.kind == "digest"]


async def test_the_seoul_morning_digest_summarises_the_us_session_that_closed_overnight(
    services: Services, store: MemoryStore
) -> None:
    # 06:30 Seoul on 2025-01-28 is 16:30 New York on the 27th, the DeepSeek session.
    outcomes = await run_digests(services, utc("2025-01-27T21:30:20"), DigestSettings())
    assert [o.outcome for o in outcomes] == ["queued"]
    [message] = await queued(store)
    payload = message.payload
    assert message.kind == "digest" and payload["session"] == "2025-01-27"
    figures = {f["label"]: f for f in payload["benchmarks"]}
    assert figures["SOX"]["pct"] == pytest.approx(-9.15, abs=0.01)
    assert not figures["DJI"]["via_proxy"] and figures["DJI"]["symbol"] == "^DJI"
    assert payload["movers"][0]["pct"] <= -16  # AVGO / NVDA lead the movers
    card = build_digest_card(services, Channel(CHANNEL, "ko", "Asia/Seoul"), payload)
    assert "미국 증시 요약" in card.title and card.chart_png and not card.banner
    assert any(f.name == "DJI" for f in card.fields)


async def test_a_restart_neither_repeats_nor_skips_a_digest(
    services: Services, store: MemoryStore
) -> None:
    await run_digests(services, utc("2025-01-27T21:30:20"), DigestSettings())
    again = await run_digests(services, utc("2025-01-27T21:31:00"), DigestSettings())
    assert again == [] and len(await queued(store)) == 1
    next_day = await run_digests(services, utc("2025-01-28T21:30:00"), DigestSettings())
    assert [o.outcome for o in next_day] == ["queued"] and len(await queued(store)) == 2


async def test_a_replay_sends_its_own_sessions_digest_and_not_the_previous_sessions(
    services: Services, store: MemoryStore
) -> None:
    # Replaying Tuesday 2025-01-28 starts at Monday's close, so Monday's digest slot (06:30
    # Seoul on the 28th) falls inside the replay: it is not the replay's to send.
    tuesday = "2025-01-28"
    monday = await run_digests(
        services, utc("2025-01-27T21:30:20"), DigestSettings(), replay_of=tuesday
    )
    assert [o.outcome for o in monday] == ["not the replayed session"]
    assert await queued(store) == []
    own = await run_digests(
        services, utc("2025-01-28T21:30:20"), DigestSettings(), replay_of=tuesday
    )
    assert [o.outcome for o in own] == ["queued"]
    [message] = await queued(store)
    assert message.payload["session"] == tuesday


async def test_no_digest_when_no_nyse_session_closed_since_the_previous_one(
    services: Services, store: MemoryStore
) -> None:
    await run_digests(services, utc("2025-01-08T21:30:00"), DigestSettings())
    # 2025-01-09: NYSE closed (national day of mourning) — nothing new to summarise.
    outcomes = await run_digests(services, utc("2025-01-09T21:30:00"), DigestSettings())
    assert [o.outcome for o in outcomes] == ["no session closed"]
    assert len(await queued(store)) == 1


async def test_a_digest_missed_within_the_grace_is_sent_once_late_and_says_so(
    services: Services, store: MemoryStore
) -> None:
    settings = DigestSettings(grace_minutes=120)
    outcomes = await run_digests(services, utc("2025-01-27T22:15:00"), settings)
    assert [o.outcome for o in outcomes] == ["queued late"]
    [message] = await queued(store)
    assert message.payload["late_minutes"] == 45
    card = build_digest_card(
        services, Channel(CHANNEL, "en", "Asia/Seoul"), message.payload, chart=False
    )
    assert card.banner == "Sent 45 min late"
    assert await run_digests(services, utc("2025-01-27T22:16:00"), settings) == []


async def test_a_digest_missed_by_more_than_the_grace_is_dropped(
    services: Services, store: MemoryStore
) -> None:
    outcomes = await run_digests(
        services, utc("2025-01-28T00:31:00"), DigestSettings(grace_minutes=120)
    )
    assert [o.outcome for o in outcomes] == ["missed"] and await queued(store) == []
