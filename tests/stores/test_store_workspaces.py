"""`workspaces(platform)`: the guilds/teams a store holds channels for (both stores)."""

from __future__ import annotations

from bot.domain.model import Channel, ChannelRef
from bot.stores import open_store


async def test_workspaces_lists_each_platforms_workspaces_once_and_forgets_purged_ones(
    store_url: str,
) -> None:
    store = await open_store(store_url)
    try:
        for workspace, channel in (("g1", "1"), ("g1", "2"), ("g2", "3")):
            await store.upsert_channel(Channel(ChannelRef("discord", workspace, channel)))
        await store.upsert_channel(Channel(ChannelRef("slack", "T1", "C1")))
        assert await store.workspaces("discord") == ["g1", "g2"]
        assert await store.workspaces("slack") == ["T1"]
        await store.purge_workspace("discord", "g1")
        assert await store.workspaces("discord") == ["g2"]
    finally:
        await store.close()
