"""The chat platforms a bot process can run, by name: how to tell one is configured, how to
build its runtime.

A platform is registered here, not found by importing module names: `bootstrap` asks each
registered platform whether its tokens are set in the environment and only then imports
its adapter (so a process without `DISCORD_TOKEN` never imports discord.py). Adding a
platform is a new adapter package under `bot/chat/` (like `bot/chat/discord/`) and one
entry in `PLATFORMS`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
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
    tokens: str = ""
    """The environment variables that turn it on, as an operator reads them."""
    variables: tuple[str, ...] = ()
    """Every secret environment variable it reads (`doctor` says which are set, never their
    values)."""


def _discord(
    settings: Settings, services: Services, registry: CommandRegistry, env: Env
) -> PlatformRuntime | None:
    from bot.chat.discord.app import build_runtime

    return build_runtime(settings, services, registry, env)


def _slack(
    settings: Settings, services: Services, registry: CommandRegistry, env: Env
) -> PlatformRuntime | None:
    from bot.chat.slack.app import build_runtime

    return build_runtime(settings, services, registry, env)


def _discord_configured(env: Env) -> bool:
    return bool(env.get("DISCORD_TOKEN"))


def _slack_configured(env: Env) -> bool:
    oauth = bool(env.get("SLACK_CLIENT_ID") and env.get("SLACK_CLIENT_SECRET"))
    return bool(env.get("SLACK_BOT_TOKEN")) or oauth


PLATFORMS: tuple[Platform, ...] = (
    Platform("discord", _discord_configured, _discord, "DISCORD_TOKEN", ("DISCORD_TOKEN",)),
    Platform(
        "slack",
        _slack_configured,
        _slack,
        "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)",
        (
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_CLIENT_ID",
            "SLACK_CLIENT_SECRET",
        ),
    ),
)


def status_lines(
    env: Env,
    *,
    delivering: bool,
    chosen: Collection[str] | None,
    started: Collection[str],
    failed: Collection[str],
) -> list[str]:
    """One line per registered platform for the start of a run: on, or why not. A platform
    whose start failed is left out (its failure was logged in a line of its own)."""
    lines = []
    for platform in PLATFORMS:
        name = platform.name
        if name in failed:
            continue
        if name in started:
            reason = ""
        elif not delivering:
            reason = "a replay sends to the console only; --deliver sends here too"
        elif chosen is not None and name not in chosen:
            reason = "not served by this process"
        elif not platform.configured(env):
            reason = f"{platform.tokens} not set"
        else:
            reason = "not built"
        lines.append(f"platform {name}: " + (f"off ({reason})" if reason else "on"))
    return lines
