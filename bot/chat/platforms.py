"""The chat platforms a bot process can run, by name: how to tell one is configured, how to
build its runtime.

A platform is registered here, not found by importing module names: `bootstrap` asks each
registered platform whether its tokens are set in the environment and only then imports
its adapter (so a process without `DISCORD_TOKEN` never imports discord.py). Adding a
platform is a new adapter module under `bot/chat/` and one entry in `PLATFORMS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.ports import PlatformRuntime
    from bot.services import Services
    from bot.settings import Settings
    from handlers.registry import CommandRegistry

Env = Mapping[str, str]
RuntimeFactory = Callable[
    ["Settings", "Services", "CommandRegistry", Env], "PlatformRuntime | None"
]


@dataclass(frozen=True)
class Platform:
    """One chat platform: its name, whether `env` configures it, and its runtime's factory."""

    name: str
    configured: Callable[[Env], bool]
    """Cheap (no import of the adapter): are its tokens in `env`?"""
    build: RuntimeFactory
    """Imports the adapter and builds its runtime (None when its tokens are not set)."""


def _discord(
    settings: Settings, services: Services, registry: CommandRegistry, env: Env
) -> PlatformRuntime | None:
    from bot.chat.discord_app import build_runtime

    return build_runtime(settings, services, registry, env)


def _slack(
    settings: Settings, services: Services, registry: CommandRegistry, env: Env
) -> PlatformRuntime | None:
    from bot.chat.slack_app import build_runtime

    return build_runtime(settings, services, registry, env)


def _discord_configured(env: Env) -> bool:
    return bool(env.get("DISCORD_TOKEN"))


def _slack_configured(env: Env) -> bool:
    oauth = bool(env.get("SLACK_CLIENT_ID") and env.get("SLACK_CLIENT_SECRET"))
    return bool(env.get("SLACK_BOT_TOKEN")) or oauth


PLATFORMS: tuple[Platform, ...] = (
    Platform("discord", _discord_configured, _discord),
    Platform("slack", _slack_configured, _slack),
)
