"""Guilds and channels coming and going: the bot forgets what it may no longer reach.

Removed from a guild (`on_guild_remove`) → that guild's channels are purged; a channel
deleted → that channel is purged; a guild the store knows but READY no longer lists
(removed while the bot was offline) → purged at start-up. An outage (a guild that is
*unavailable*) is not a removal and purges nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import discord
from discord.ext import commands

from bot.domain.model import ChannelRef
from bot.ports.store import ChannelStore, StoreError

log = logging.getLogger(__name__)
PLATFORM = "discord"


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a guild lives on (Discord's formula)."""
    return (guild_id >> 22) % shard_count


async def purge_missing_guilds(
    store: ChannelStore,
    listed: Collection[int],
    *,
    shard_count: int | None = None,
    shard_ids: Collection[int] | None = None,
) -> list[str]:
    """Purge the guilds the store knows but READY did not list; their ids.

    A process that runs only some shards judges only the guilds on those shards.
    """
    known = await store.workspaces(PLATFORM)
    listed_ids = {str(g) for g in listed}
    if known and not listed_ids:
        # No guild at all is far likelier a glitch (a proxy, a bad session) than a bot
        # removed from every guild while it was offline: never purge everything on it.
        log.warning("READY listed no guilds; not purging the %d stored guilds", len(known))
        return []
    purged = []
    for guild in known:
        if guild in listed_ids or not guild.isdigit():
            continue
        theirs = shard_count and shard_ids is not None
        if theirs and shard_of(int(guild), shard_count or 1) not in (shard_ids or ()):
            continue  # another process's shard judges this guild
        count = await store.purge_workspace(PLATFORM, guild)
        log.info("guild %s no longer has the bot: purged %d channels", guild, count)
        purged.append(guild)
    return purged


class LifecycleCog(commands.Cog):
    """Listeners that purge guilds and channels the bot has lost."""

    def __init__(self, bot: commands.Bot | commands.AutoShardedBot, store: ChannelStore) -> None:
        self.bot = bot
        self.store = store
        self.reconciled = False

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per process: purge guilds removed while the bot was offline."""
        if self.reconciled:
            return
        self.reconciled = True
        shard_ids = getattr(self.bot, "shard_ids", None)
        try:
            await purge_missing_guilds(
                self.store,
                [guild.id for guild in self.bot.guilds],
                shard_count=self.bot.shard_count,
                shard_ids=shard_ids,
            )
        except StoreError as exc:
            log.warning("could not reconcile guilds with the store: %s", exc)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was kicked or the guild deleted: forget its channels."""
        try:
            count = await self.store.purge_workspace(PLATFORM, str(guild.id))
        except StoreError as exc:
            log.warning("guild %s removed but not purged: %s", guild.id, exc)
            return
        log.info("removed from guild %s: purged %d channels", guild.id, count)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A channel was deleted: forget it."""
        await self._purge_channel(ChannelRef(PLATFORM, str(channel.guild.id), str(channel.id)))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A thread was deleted: forget it (threads can subscribe like channels)."""
        await self._purge_channel(
            ChannelRef(PLATFORM, str(payload.guild_id), str(payload.thread_id))
        )

    async def _purge_channel(self, ref: ChannelRef) -> None:
        try:
            if await self.store.get_channel(ref) is None:
                return
            await self.store.purge_channel(ref)
        except StoreError as exc:
            log.warning("channel %s deleted but not purged: %s", ref.key, exc)
            return
        log.info("channel %s deleted: purged", ref.key)
