"""The delivery worker (jobs/deliver.py) with the Discord sink, a real SQLite store and the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_services
from bot.chat.discord.app import DiscordRuntime
from bot.domain.cards import Card
from bot.domain.model import Channel, ChannelRef, OutboxItem
from bot.ports.store import Store
from bot.services import Core, SystemClock
from bot.stores import open_store
from jobs.deliver import deliver_outbox
from jobs.render import notice_card
from tests.chat.conftest import GUILD, make_runtime
from tests.fakes.discord_fake import FakeDiscord

CHANNELS = [ChannelRef("discord", str(GUILD), str(n)) for n in (701, 702, 703)]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield store
    await store.close()


async def build_card(item: OutboxItem, channel: Channel) -> Card | None:
    return notice_card(item.payload, channel.language)


@pytest.mark.parametrize(("status", "code"), [(403, 50013), (404, 10003)], ids=str)
async def test_a_gone_channel_is_deactivated_and_every_other_channel_gets_its_message(
    rest_runtime: DiscordRuntime,
    fake: FakeDiscord,
    sqlite_store: Store,
    status: int,
    code: int,
) -> None:
    for ref in CHANNELS:
        await sqlite_store.upsert_channel(Channel(ref, language="ko"))
        await sqlite_store.enqueue_message(
            "notice", ref, {"title": "Sputnik", "text_ko": "알림"}, f"key-{ref.channel_id}"
        )
    fake.channel_errors[702] = (status, code)
    report = await deliver_outbox(
        sqlite_store,
        {"discord": rest_runtime.sink},
        build_card,
        "worker-1",
        clock=SystemClock(),
        timeout=10.0,
    )
    assert (report.delivered, report.gone) == (2, 1)
    for number in (701, 703):
        [sent] = fake.messages[number]
        assert sent["nonce"] == f"key-{number}"
        assert sent["embeds"][0]["description"] == "알림"
    gone = await sqlite_store.get_channel(CHANNELS[1])
    assert gone is not None and not gone.active
    assert str(code) in (gone.inactive_reason or "")
    [parked] = await sqlite_store.list_outbox()  # the delivered ones are done
    assert (parked.channel, parked.state) == (CHANNELS[1], "parked")


async def test_a_long_429_puts_the_message_back_without_counting_an_attempt(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, sqlite_store: Store
) -> None:
    ref = CHANNELS[0]
    await sqlite_store.upsert_channel(Channel(ref))
    await sqlite_store.enqueue_message("notice", ref, {"text": "hello"}, "key-429")
    fake.scripted_429[701].append(60.0)
    report = await deliver_outbox(
        sqlite_store, {"discord": rest_runtime.sink}, build_card, "w", clock=SystemClock()
    )
    assert report.retried == 1
    [item] = await sqlite_store.list_outbox()
    assert (item.state, item.attempts) == ("pending", 0)
    assert not fake.messages[701]


async def test_with_the_real_store_guilds_removed_while_offline_are_purged_at_ready(
    fake: FakeDiscord, sqlite_store: Store, core: Core
) -> None:
    kept, gone = CHANNELS[0], ChannelRef("discord", "333333333333333333", "9")
    for ref in (kept, gone):
        await sqlite_store.upsert_channel(Channel(ref))
    runtime = await make_runtime(fake, build_services(core, sqlite_store))
    await asyncio.wait_for(runtime.start(), 10)
    try:
        for _ in range(300):
            if await sqlite_store.get_channel(gone) is None:
                break
            await asyncio.sleep(0.01)
        assert await sqlite_store.get_channel(gone) is None
        assert await sqlite_store.get_channel(kept) is not None
    finally:
        await runtime.close()
