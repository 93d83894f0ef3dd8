"""`[discord]` settings, `build_runtime`, sharding and `python -m bot discord sync`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from discord.ext import commands

from bot.chat.discord.app import build_runtime, load_discord_settings
from bot.services import Services
from bot.settings import SettingsError, load_settings
from handlers.registry import load_registry
from tests.chat.conftest import GUILD, TOKEN, discord_settings
from tests.fakes.discord_fake import FakeDiscord

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_without_a_token_there_is_no_discord_runtime(services: Services) -> None:
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    assert build_runtime(settings, services, load_registry(), {}) is None


def test_a_token_in_the_config_file_is_refused_when_the_settings_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[discord]\ntoken = "x"\n', encoding="utf-8")
    message = "[discord] token: tokens are read from the environment only (DISCORD_TOKEN)"
    with pytest.raises(SettingsError) as refused:
        load_settings(config, env={"DISCORD_TOKEN": TOKEN})
    assert str(refused.value) == message


def test_the_token_is_not_in_the_settings_repr() -> None:
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    config = load_discord_settings(settings, {"DISCORD_TOKEN": TOKEN})
    assert config is not None and TOKEN not in repr(config)
    assert config.max_ratelimit_timeout == 30


async def test_shards_auto_runs_an_auto_sharded_client_that_asks_for_the_gateway(
    fake: FakeDiscord, services: Services
) -> None:
    runtime = build_runtime(
        discord_settings(fake, shards="auto"), services, load_registry(), {"DISCORD_TOKEN": TOKEN}
    )
    assert runtime is not None
    assert isinstance(runtime.client, commands.AutoShardedBot)
    await asyncio.wait_for(runtime.start(), 10)
    try:
        assert fake.calls("GET", "/gateway/bot")
        assert [g.id for g in runtime.client.guilds] == [GUILD]
    finally:
        await runtime.close()


async def test_discord_sync_on_the_command_line_registers_the_commands_on_one_guild(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[discord]\napi_base = "{fake.api_base}"\n', encoding="utf-8")
    env = {**os.environ, "SPUTNIK_CONFIG": str(config), "DISCORD_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "discord",
        "sync",
        "--guild",
        str(GUILD),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "/shock" in out.decode()
    assert {c["name"] for c in fake.commands[str(GUILD)]} >= {"shock", "subscribe", "mention"}
    assert TOKEN not in out.decode() + err.decode()


async def test_discord_sync_without_a_token_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["SPUTNIK_CONFIG"] = os.devnull
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "discord",
        "sync",
        cwd=PROJECT_ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "DISCORD_TOKEN" in err.decode()
