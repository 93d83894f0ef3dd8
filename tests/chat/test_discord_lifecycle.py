"""Guild and channel removal, handler failures and secrets in logs, over the fake gateway."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.chat.discord.app import DiscordRuntime, build_runtime
from bot.chat.discord.lifecycle import purge_missing_guilds
from bot.domain.model import Channel, ChannelRef
from bot.services import Services
from bot.stores.memory import MemoryStore
from handlers.registry import HANDLER_MODULES, load_registry
from tests.chat.conftest import (
    CHANNEL,
    GUILD,
    TOKEN,
    discord_settings,
    gone,
    make_runtime,
    until,
    workspace_gone,
)
from tests.chat.test_discord_commands import embed_text, option, replies, run
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory, guild_payload

GONE_GUILD = 333333333333333333
MARKER_GUILD = 444444444444444444


def ref(guild: int, channel: int) -> ChannelRef:
    return ChannelRef("discord", str(guild), str(channel))


async def test_guilds_removed_while_offline_are_purged_when_ready_no_longer_lists_them(
    fake: FakeDiscord, services: Services, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
    await store.upsert_channel(Channel(ref(GONE_GUILD, 5)))
    runtime = await make_runtime(fake, services)
    await asyncio.wait_for(runtime.start(), 10)
    try:
        await until(lambda: workspace_gone(store, GONE_GUILD))
        assert await store.workspaces("discord") == [str(GUILD)]
        assert not await gone(store, ref(GUILD, CHANNEL))
    finally:
        await runtime.close()


async def test_removal_from_a_guild_purges_its_channels(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
    await fake.dispatch("GUILD_DELETE", {"id": str(GUILD)})
    await until(lambda: workspace_gone(store, GUILD))
    assert await store.workspaces("discord") == []


async def test_an_outage_is_not_a_removal(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
    # A marker guild the bot knows, so that its removal after the outage has a visible effect.
    await store.upsert_channel(Channel(ref(MARKER_GUILD, 7)))
    await fake.dispatch("GUILD_CREATE", guild_payload(MARKER_GUILD, [7]))
    await until(lambda: runtime.client.get_guild(MARKER_GUILD) is not None)
    await fake.dispatch("GUILD_DELETE", {"id": str(GUILD), "unavailable": True})
    await fake.dispatch("GUILD_DELETE", {"id": str(MARKER_GUILD)})
    # Events are handled in order: once the marker's removal is purged, the outage was handled.
    await until(lambda: workspace_gone(store, MARKER_GUILD))
    assert await store.workspaces("discord") == [str(GUILD)]
    assert not await gone(store, ref(GUILD, CHANNEL))


async def test_a_deleted_channel_is_purged(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL + 1)))
    deleted = {"id": str(CHANNEL), "type": 0, "guild_id": str(GUILD), "name": "x", "position": 0}
    await fake.dispatch("CHANNEL_DELETE", deleted)
    await until(lambda: gone(store, ref(GUILD, CHANNEL)))
    assert not await gone(store, ref(GUILD, CHANNEL + 1))


@pytest.fixture
async def broken_runtime(fake: FakeDiscord, services: Services) -> DiscordRuntime:
    registry = load_registry((*HANDLER_MODULES, "tests.fakes.broken_handlers"))
    settings = discord_settings(fake, defer_after_seconds=0.1)
    runtime = build_runtime(settings, services, registry, {"DISCORD_TOKEN": TOKEN})
    assert runtime is not None
    await asyncio.wait_for(runtime.start(), 10)
    yield runtime  # type: ignore[misc]
    await runtime.close()


async def test_a_handler_bug_is_a_polite_private_reply_with_a_reference_and_no_trace(
    broken_runtime: DiscordRuntime, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    [callback] = await run(fake, InteractionFactory(GUILD, CHANNEL).command("boom"))
    text = embed_text(callback.json)
    assert callback.json["data"]["flags"] & 64
    assert "ref " in text
    assert "internal detail" not in text and "Traceback" not in text
    assert "internal detail" in caplog.text  # logged for us, with its reference


async def test_a_slow_commands_error_replaces_the_public_thinking_message_privately(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("shock", [option("symbol", "NVDAX")])
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 5
    webhook = f"/webhooks/{payload['application_id']}/{payload['token']}"
    calls = await replies(fake, webhook, 2)
    assert [c.method for c in calls] == ["DELETE", "POST"]
    assert calls[0].path.endswith("/messages/@original")
    assert calls[1].json["flags"] & 64


async def test_no_token_reaches_the_log_even_at_debug_level(
    fake: FakeDiscord, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = await make_runtime(fake, services)
    await asyncio.wait_for(runtime.start(), 10)
    try:
        payload = InteractionFactory(GUILD, CHANNEL).command("shock", [option("symbol", "NVDA")])
        await run(fake, payload)
        await replies(fake, f"/webhooks/{payload['application_id']}/{payload['token']}")
        await runtime.sink.send(Channel(ref(GUILD, 77)), _card(), "0" * 24)
    finally:
        await runtime.close()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "/webhooks/" in logged or "/interactions/" in logged  # the debug lines are there
    assert TOKEN not in logged
    assert payload["token"] not in logged
    assert "SECRET" not in logged


def _card():  # type: ignore[no-untyped-def]
    from bot.domain.cards import Card

    return Card(title="t")


async def test_a_ready_without_any_guild_purges_nothing(store: MemoryStore) -> None:
    await store.upsert_channel(Channel(ref(GUILD, CHANNEL)))
    assert await purge_missing_guilds(store, []) == []
    assert not await gone(store, ref(GUILD, CHANNEL))


async def test_a_process_running_some_shards_judges_only_their_guilds(store: MemoryStore) -> None:
    on_shard_0, on_shard_1 = 0 << 22, 1 << 22  # (guild_id >> 22) % 2
    for guild in (on_shard_0, on_shard_1):
        await store.upsert_channel(Channel(ref(guild, 1)))
    purged = await purge_missing_guilds(store, [GUILD], shard_count=2, shard_ids=[1])
    assert purged == [str(on_shard_1)]
    assert await store.workspaces("discord") == [str(on_shard_0)]


async def test_any_command_still_running_after_the_deferral_delay_defers_and_follows_up(
    broken_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("nap")
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 5, callback.json
    webhook = f"/webhooks/{payload['application_id']}/{payload['token']}"
    [followup] = await replies(fake, webhook)
    assert followup.json["embeds"][0]["title"] == "rested"
