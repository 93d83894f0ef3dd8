"""Fixtures for the Discord adapter: the loopback fake, an in-memory store, the runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import build_services
from bot.chat.discord.app import DiscordRuntime, build_runtime
from bot.domain.model import ChannelRef
from bot.services import Core, Services
from bot.settings import Settings, build_settings
from bot.stores.memory import MemoryStore
from handlers.registry import load_registry
from tests.fakes.discord_fake import FakeDiscord, Limits, guild_payload

TOKEN = "MTAxMDEwMTAxMDEwMTAxMDEw.GabcDE.secretsecretsecretsecretsecret12"
GUILD = 111111111111111111
CHANNEL = 222222222222222222


def discord_settings(fake: FakeDiscord, **section: Any) -> Settings:
    """The test settings with `[discord]` pointing at the fake."""
    discord = {
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "guild_ready_timeout": 0.1,
        **section,
    }
    return build_settings({"discord": discord})


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord with one guild and one channel."""
    server = FakeDiscord(Limits(), token=TOKEN)
    server.guilds = [guild_payload(GUILD, [CHANNEL, CHANNEL + 1], locale="en-US")]
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def store() -> MemoryStore:
    """A fresh in-memory store (the real one: `[store] url = "memory://"`)."""
    return MemoryStore()


@pytest.fixture
def services(core: Core, store: MemoryStore) -> Services:
    """The real services over the in-memory store."""
    return build_services(core, store)


async def until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Wait (at most 5 s) until `condition` holds; it may read the store (a coroutine)."""
    async with asyncio.timeout(5):
        while True:
            held = condition()
            if held if isinstance(held, bool) else await held:
                return
            await asyncio.sleep(0.01)


async def gone(store: MemoryStore, ref: ChannelRef) -> bool:
    """Whether the store no longer knows the channel (it was purged)."""
    return await store.get_channel(ref) is None


async def workspace_gone(store: MemoryStore, workspace_id: int) -> bool:
    """Whether the store keeps no channel of the Discord guild any more."""
    return str(workspace_id) not in await store.workspaces("discord")


async def make_runtime(fake: FakeDiscord, services: Services, **section: Any) -> DiscordRuntime:
    """A runtime against the fake (not started)."""
    runtime = build_runtime(
        discord_settings(fake, **section), services, load_registry(), {"DISCORD_TOKEN": TOKEN}
    )
    assert runtime is not None
    return runtime


@pytest.fixture
async def runtime(fake: FakeDiscord, services: Services) -> AsyncIterator[DiscordRuntime]:
    """A runtime connected to the fake gateway (READY + GUILD_CREATE received)."""
    running = await make_runtime(fake, services)
    await asyncio.wait_for(running.start(), 10)
    yield running
    await running.close()


@pytest.fixture
async def rest_runtime(fake: FakeDiscord, services: Services) -> AsyncIterator[DiscordRuntime]:
    """A delivery-only runtime (REST login, no gateway)."""
    running = await make_runtime(fake, services, gateway=False)
    await running.start()
    yield running
    await running.close()
