"""`python -m bot slack web|socket|manifest`: Slack from the command line.

`slack web` is the Procfile's `web:` line: the bot with Slack in HTTP mode on `$PORT` (the
whole `run` when that sub-command exists, so one process serves Slack and delivers alerts;
otherwise the Slack endpoints alone). `slack socket` does the same over Socket Mode.
`slack manifest` prints the app manifest shipped in the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import signal
from pathlib import Path
from typing import Any

from bot.app import build_services
from bot.cli import UsageError
from bot.cli.common import load_core
from bot.services import Core
from bot.settings import PROJECT_ROOT, SettingsError
from bot.stores import StoreUnavailable, open_store
from handlers.registry import load_registry

MANIFEST = PROJECT_ROOT / "slack-manifest.yml"


def register(subparsers: Any) -> None:
    """Add the `slack` sub-command."""
    parser = subparsers.add_parser("slack", help="serve Slack (HTTP or Socket Mode)")
    parser.add_argument("what", choices=("web", "socket", "manifest"))
    parser.add_argument("--only-slack", action="store_true", help="no scheduler nor delivery")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve Slack in the chosen mode, or print the manifest."""
    if args.what == "manifest":
        print(Path(MANIFEST).read_text(encoding="utf-8"), end="")
        return 0
    os.environ["SLACK_MODE"] = "http" if args.what == "web" else "socket"
    if not args.only_slack and importlib.util.find_spec("bot.cli.run") is not None:
        from bot.cli import main

        return main(["-v", "run"] if args.verbose else ["run"])
    return asyncio.run(_serve(load_core(args)))


async def _serve(core: Core) -> int:
    from bot.chat.slack_app import build_runtime

    try:
        store = await open_store(core.settings.store_url)
    except StoreUnavailable as exc:
        raise UsageError(str(exc)) from None
    try:
        runtime = build_runtime(
            core.settings, build_services(core, store), load_registry(), dict(os.environ)
        )
        if runtime is None:
            raise UsageError("set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        where = f", port {runtime.port}" if runtime.port else ""
        print(f"slack: serving ({runtime.mode}{where})", flush=True)
        await stop.wait()
        await runtime.close()
        return 0
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    finally:
        await store.close()
