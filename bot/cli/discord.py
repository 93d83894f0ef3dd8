"""`python -m bot discord sync [--guild ID]`: register the slash commands with Discord.

Syncing is an explicit step, not something every start does: Discord rate-limits command
registration. A global sync can take up to an hour to show everywhere; `--guild ID`
registers the same commands on one guild at once (for testing a change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from bot.cli import UsageError
from bot.cli.common import load_core
from bot.settings import SettingsError


def register(subparsers: Any) -> None:
    """Add the `discord` command group."""
    parser = subparsers.add_parser("discord", help="Discord administration", description=__doc__)
    actions = parser.add_subparsers(dest="discord_command", required=True)
    sync = actions.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, default=None, help="sync to one guild (at once)")
    sync.set_defaults(func=run_sync)


async def _sync(args: argparse.Namespace) -> int:
    from bot.app import bootstrap
    from bot.chat.discord.app import DiscordRuntime
    from bot.stores import make_store

    core = load_core(args)
    # The tree needs the services only for autocomplete; syncing never touches the store,
    # so it gets one that is never opened.
    app = await bootstrap(
        core.settings,
        core=core,
        store=make_store(core.settings.store_url),
        env=os.environ,
        platforms=("discord",),
    )
    try:
        runtimes = app.runtimes
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    if not runtimes:
        raise UsageError("DISCORD_TOKEN is not set")
    [runtime] = runtimes
    assert isinstance(runtime, DiscordRuntime)
    try:
        await runtime.setup()
        synced = await runtime.sync(args.guild)
    except Exception as exc:  # login refused, HTTP error: one line, no trace
        raise UsageError(f"discord sync failed: {type(exc).__name__}: {exc}") from None
    finally:
        await runtime.close()
    where = f"guild {args.guild}" if args.guild else "globally (may take up to an hour to show)"
    names = ", ".join(sorted(f"/{command.name}" for command in synced))
    print(f"synced {len(synced)} commands {where}: {names}")
    return 0


def run_sync(args: argparse.Namespace) -> int:
    """Log in over REST, build the tree from the registry and sync it."""
    return asyncio.run(_sync(args))
