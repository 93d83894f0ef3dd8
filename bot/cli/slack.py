"""`python -m bot slack web|socket [--only-slack]|manifest`: Slack from the command line.

`slack web` is the whole bot (`run`) with Slack in HTTP mode on `$PORT`, so one process serves
Slack and delivers alerts; with `--only-slack` it serves the Slack endpoints alone (no
scheduler, no delivery) — the Procfile's `web:` line, beside its `worker:` (`run`). `slack
socket` does the same over Socket Mode. Without Slack's tokens either is a one-line usage
error (exit 2), never a bot that runs without Slack. `slack manifest` prints the app manifest
shipped in the repository (it builds nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.app import bootstrap
from bot.chat.platforms import PLATFORMS
from bot.cli import UsageError
from bot.cli.common import load_core
from bot.services import Core
from bot.settings import PROJECT_ROOT, SettingsError, load_settings
from bot.stores import StoreUnavailable

MANIFEST = PROJECT_ROOT / "slack-manifest.yml"
_slack_configured = next(p.configured for p in PLATFORMS if p.name == "slack")


def register(subparsers: Any) -> None:
    """Add the `slack` sub-command."""
    parser = subparsers.add_parser("slack", help="serve Slack (HTTP or Socket Mode)")
    parser.add_argument("what", choices=("web", "socket", "manifest"))
    parser.add_argument(
        "--only-slack",
        action="store_true",
        help="serve Slack's endpoints alone: no scheduler, no delivery (the Procfile's web:)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve Slack in the chosen mode, or print the manifest."""
    if args.what == "manifest":
        print(Path(MANIFEST).read_text(encoding="utf-8"), end="")
        return 0
    # The mode the sub-command names, as `SLACK_MODE` would (the process's env untouched).
    env = {**os.environ, "SLACK_MODE": "http" if args.what == "web" else "socket"}
    if not _slack_configured(env):
        other = "SLACK_SIGNING_SECRET" if args.what == "web" else "SLACK_APP_TOKEN"
        raise UsageError(
            f"slack {args.what} needs Slack's tokens: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID"
            f" and SLACK_CLIENT_SECRET) and {other}"
        )
    if not args.only_slack:
        from bot.cli.run import run_live

        return run_live(env, verbose=bool(args.verbose))
    try:
        settings = load_settings(env=env)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    return asyncio.run(_serve(load_core(args, settings=settings), env))


async def _serve(core: Core, env: Mapping[str, str]) -> int:
    from bot.chat.slack.app import SlackRuntime

    try:
        app = await bootstrap(core.settings, core=core, env=env, platforms=("slack",))
    except StoreUnavailable as exc:
        raise UsageError(str(exc)) from None
    try:
        if not app.runtimes:
            raise UsageError("set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")
        [runtime] = app.runtimes
        assert isinstance(runtime, SlackRuntime)
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
        await app.close()
