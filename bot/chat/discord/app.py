"""The Discord runtime: settings, the client, the commands Cog, the sink — `build_runtime`.

`python -m bot run` calls `build_runtime(settings, services, registry, env)`; it answers
None when `DISCORD_TOKEN` is not set. `[discord] gateway = false` runs a delivery-only
process (REST login, no gateway, no commands); `shards = "auto"` runs
`AutoShardedClient`, `shard_count` + `shard_ids` split the shards between processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.ext import commands

from bot.chat.discord.commands import AnyBot, CatalogTranslator, CommandContext, CommandsCog
from bot.chat.discord.lifecycle import LifecycleCog
from bot.chat.discord.pacer import DiscordPacer, PacerLimits
from bot.chat.discord.sink import DiscordSink
from bot.ports import ChatSink
from bot.redaction import install_redaction
from bot.services import Services
from bot.settings import Settings
from handlers.registry import CommandRegistry

log = logging.getLogger(__name__)

DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"
TOKEN_VARIABLE = "DISCORD_TOKEN"


@dataclass(frozen=True)
class DiscordSettings:
    """`[discord]` from the config, with the token from the environment."""

    token: str = field(repr=False)
    gateway: bool = True
    shards: str | None = None
    """"auto" (AutoShardedClient asks Discord how many) or None (one connection)."""
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    api_base: str = DISCORD_API
    gateway_url: str = DISCORD_GATEWAY
    limits: PacerLimits = field(default_factory=PacerLimits)
    max_ratelimit_timeout: float = 30.0
    send_timeout: float = 45.0
    """Longer than discord.py's worst sleep (30 s); the delivery worker's timeout must exceed it."""
    slow_commands: frozenset[str] = frozenset({"shock", "rules test"})
    defer_after: float = 1.5
    guild_ready_timeout: float = 2.0

    @property
    def sharded(self) -> bool:
        """True when the client is an AutoShardedClient."""
        return self.shards == "auto" or self.shard_count is not None


def load_discord_settings(settings: Settings, env: Mapping[str, str]) -> DiscordSettings | None:
    """The validated `[discord]` table with the token from `DISCORD_TOKEN` (None without it;
    a token in the TOML was refused when the settings loaded)."""
    token = (env.get(TOKEN_VARIABLE) or "").strip()
    if not token:
        return None
    table = settings.discord
    limits = PacerLimits(
        global_per_second=table.global_per_second,
        channel_messages=table.channel_messages,
        channel_window=table.channel_window_seconds,
        margin=table.pacer_margin_seconds,
        global_margin=table.global_margin_seconds,
    )
    return DiscordSettings(
        token=token,
        gateway=table.gateway,
        shards=table.shards,
        shard_count=table.shard_count,
        shard_ids=tuple(table.shard_ids) if table.shard_ids else None,
        api_base=table.api_base.rstrip("/"),
        gateway_url=table.gateway_url,
        limits=limits,
        max_ratelimit_timeout=max(30.0, table.max_ratelimit_timeout),
        send_timeout=table.send_timeout,
        slow_commands=frozenset(table.defer),
        defer_after=table.defer_after_seconds,
        guild_ready_timeout=table.guild_ready_timeout,
    )


def apply_endpoints(config: DiscordSettings) -> None:
    """Point discord.py at `api_base` and `gateway_url` (process-wide class attributes)."""
    discord.http.Route.BASE = config.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


def make_client(config: DiscordSettings, pacer: DiscordPacer | None = None) -> AnyBot:
    """The bot: guild events only (no message content), explicit rate-limit ceiling.

    With a `pacer`, every REST request the pacer did not grant is counted in its global
    window, so logins, syncs and discord.py's own retries do not push sends into 429s.
    """
    # Sputnik has no voice: no warnings about voice libraries it does not need.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    intents = discord.Intents.none()
    intents.guilds = True
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,
        "help_command": None,
        "intents": intents,
        "max_ratelimit_timeout": config.max_ratelimit_timeout,
        "guild_ready_timeout": config.guild_ready_timeout,
        "allowed_mentions": discord.AllowedMentions.none(),
        "enable_debug_events": False,
    }
    if pacer is not None:
        options["http_trace"] = pacer.trace(config.api_base)
    if config.sharded:
        if config.shard_count is not None:
            options["shard_count"] = config.shard_count
        if config.shard_ids is not None:
            options["shard_ids"] = list(config.shard_ids)
        return commands.AutoShardedBot(**options)
    return commands.Bot(**options)


class DiscordRuntime:
    """The Discord platform as `python -m bot run` runs it (a `PlatformRuntime`)."""

    platform = "discord"

    def __init__(
        self, config: DiscordSettings, services: Services, registry: CommandRegistry
    ) -> None:
        self.config = config
        self.services = services
        self.registry = registry
        install_redaction([config.token])
        apply_endpoints(config)
        pacer = DiscordPacer(config.limits)
        self.client = make_client(config, pacer)
        self.discord_sink = DiscordSink(self.client, pacer, send_timeout=config.send_timeout)
        self.sink: ChatSink = self.discord_sink
        self._gateway: asyncio.Task[None] | None = None

    async def setup(self) -> None:
        """Log in over REST and load the Cogs and the translator (no gateway yet)."""
        await self.client.login(self.config.token)
        context = CommandContext(
            self.services, self.registry, self.config.slow_commands, self.config.defer_after
        )
        await self.client.add_cog(CommandsCog(self.client, context))
        await self.client.add_cog(LifecycleCog(self.client, self.services.store))
        await self.client.tree.set_translator(CatalogTranslator())

    async def start(self) -> None:
        """Log in; connect the gateway unless `gateway = false`; return once it is ready."""
        if self.config.gateway:
            await self.setup()
        else:
            await self.client.login(self.config.token)
            log.info("discord: delivery-only process (no gateway)")
            return
        self._gateway = asyncio.create_task(self.client.connect(), name="discord-gateway")
        self._gateway.add_done_callback(_report_gateway_end)
        ready = asyncio.create_task(self.client.wait_until_ready())
        await asyncio.wait({self._gateway, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._gateway  # raises the connection error
        log.info("discord: connected as %s to %d guilds", self.client.user, len(self.client.guilds))

    async def sync(self, guild_id: int | None = None) -> list[discord.app_commands.AppCommand]:
        """Register the commands with Discord (globally, or on one guild at once)."""
        guild = discord.Object(guild_id) if guild_id is not None else None
        if guild is not None:
            self.client.tree.copy_global_to(guild=guild)
        return await self.client.tree.sync(guild=guild)

    async def close(self) -> None:
        """Disconnect and close the HTTP session."""
        await self.client.close()
        if self._gateway is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._gateway


def _report_gateway_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("discord gateway stopped: %s", task.exception(), exc_info=task.exception())


def build_runtime(
    settings: Settings,
    services: Services,
    registry: CommandRegistry,
    env: Mapping[str, str],
) -> DiscordRuntime | None:
    """The Discord runtime, or None when `DISCORD_TOKEN` is not set in `env`."""
    config = load_discord_settings(settings, env)
    if config is None:
        return None
    return DiscordRuntime(config, services, registry)


if TYPE_CHECKING:  # the runtime and its sink satisfy the ports (checked by mypy)
    from bot.ports import PlatformRuntime

    def _is_runtime(runtime: DiscordRuntime) -> PlatformRuntime:
        return runtime

    def _is_sink(sink: DiscordSink) -> ChatSink:
        return sink
