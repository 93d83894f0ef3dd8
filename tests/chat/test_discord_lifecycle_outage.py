"""Discord lifecycle events the bot must not lose track of: threads, a second READY, and a
store outage (a Redis of the test's own, stopped by its pid): each is logged in one line
and the bot stays connected."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from bot.app import build_services
from bot.domain.model import Channel, ChannelRef
from bot.ports.store import Store
from bot.services import Core, Services
from bot.stores import open_store
from bot.stores.memory import MemoryStore
from tests.chat.conftest import CHANNEL, GUILD, TOKEN, gone, make_runtime, until
from tests.fakes.discord_fake import FakeDiscord
from tests.stores.own_redis import OwnRedis, scratch_redis

OTHER_GUILD = 555555555555555555


__all__ = ["scratch_redis"]  # the fixture, re-used


def ref(guild: int, channel: int) -> ChannelRef:
    return ChannelRef("discord", str(guild), str(channel))


async def test_a_deleted_thread_that_was_subscribed_is_purged(
    fake: FakeDiscord, services: Services, store: MemoryStore
) -> None:
    thread = CHANNEL + 100
    await store.upsert_channel(Channel(ref(GUILD, thread)))
    runtime = await make_runtime(fake, services)
    await asyncio.wait_for(runtime.start(), 10)
    try:
        deleted = {"id": str(thread), "guild_id": str(GUILD), "parent_id": str(CHANNEL), "type": 11}
        await fake.dispatch("THREAD_DELETE", deleted)
        await until(lambda: gone(store, ref(GUILD, thread)))
    finally:
        await runtime.close()


async def test_a_second_ready_after_a_reconnect_purges_nothing_more(
    fake: FakeDiscord, services: Services, store: MemoryStore
) -> None:
    runtime = await make_runtime(fake, services)
    await asyncio.wait_for(runtime.start(), 10)
    try:
        await store.upsert_channel(Channel(ref(OTHER_GUILD, 1)))  # joined later, not in READY
        assert fake.identify_payload is not None
        ready = {
            "v": 10,
            "user": fake.user(),
            "guilds": [{"id": str(GUILD), "unavailable": True}],
            "session_id": "fake-session-2",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(runtime.client.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        seen = asyncio.Event()

        async def ready_again() -> None:
            seen.set()

        runtime.client.add_listener(ready_again, "on_ready")
        await fake.dispatch("READY", ready)
        await fake.dispatch("GUILD_CREATE", fake.guilds[0])
        await asyncio.wait_for(seen.wait(), 5)
        assert [g.id for g in runtime.client.guilds] == [GUILD]
        # reconciled once per process, at the first READY: the later guild's channel stays
        assert not await gone(store, ref(OTHER_GUILD, 1))
    finally:
        await runtime.close()


async def test_guild_and_channel_removals_during_a_store_outage_are_logged_not_raised(
    fake: FakeDiscord, core: Core, scratch_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_store(scratch_redis.url)
    runtime = await make_runtime(fake, build_services(core, cast(Store, store)))
    await asyncio.wait_for(runtime.start(), 10)
    try:
        await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
        scratch_redis.kill()
        with caplog.at_level(logging.WARNING, logger="bot.chat"):
            deleted: dict[str, Any] = {
                "id": str(CHANNEL), "type": 0, "guild_id": str(GUILD), "name": "x", "position": 0,
            }  # fmt: skip
            await fake.dispatch("CHANNEL_DELETE", deleted)
            await until(lambda: "deleted but not purged" in caplog.text)
            await fake.dispatch("GUILD_DELETE", {"id": str(GUILD)})
            await until(lambda: "removed but not purged" in caplog.text)
        assert not runtime.client.is_closed()
    finally:
        await runtime.close()
        await store.close()
    assert TOKEN not in caplog.text


async def test_a_store_outage_at_ready_skips_the_reconciliation_with_a_warning(
    fake: FakeDiscord, core: Core, scratch_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_store(scratch_redis.url)
    scratch_redis.kill()
    runtime = await make_runtime(fake, build_services(core, cast(Store, store)))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.chat"):
            await asyncio.wait_for(runtime.start(), 30)
            await until(lambda: "could not reconcile guilds with the store" in caplog.text)
    finally:
        await runtime.close()
        await store.close()
