"""`python -m bot console [--lang ko|en] [--channel PLATFORM:WORKSPACE:CHANNEL]`.

The chat commands at a prompt (or from stdin). With `--channel`, an operator runs them as
an administrator of that channel, e.g. to manage a Discord channel's subscriptions:
`printf '/subscribe alerts deepseek\\n' | python -m bot console --channel discord:4004:5005`.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.app import bootstrap
from bot.chat.console.app import CONSOLE_CHANNEL, run_console
from bot.cli import UsageError
from bot.cli.common import load_core
from bot.domain.i18n import Locale, LocaleError, parse_locale
from bot.domain.model import ChannelRef, redact_url
from bot.domain.views import ViewError
from bot.ports.store import StoreError
from bot.services import Core
from bot.stores import StoreUnavailable


def register(subparsers: Any) -> None:
    """Add the `console` sub-command."""
    parser = subparsers.add_parser(
        "console",
        help="ask the bot at a prompt (/shock NVDA 2025-01-27, /help), as one local channel",
    )
    parser.add_argument("--lang", help="the console channel's language: ko or en")
    parser.add_argument(
        "--channel",
        metavar="PLATFORM:WORKSPACE:CHANNEL",
        help="act as an administrator of this channel (e.g. discord:4004:5005)",
    )
    parser.add_argument(
        "--charts", type=Path, default=Path("out/charts"), help="where chart PNGs are written"
    )
    parser.set_defaults(func=run)


def parse_channel(text: str | None) -> ChannelRef:
    """`PLATFORM:WORKSPACE:CHANNEL` → a ChannelRef (the console's own when None)."""
    if text is None:
        return CONSOLE_CHANNEL
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"--channel {text!r}: use PLATFORM:WORKSPACE:CHANNEL (discord:1:2)")
    try:
        return ChannelRef(*parts)
    except ValueError as exc:
        raise UsageError(f"--channel {text!r}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Open the configured store and read commands."""
    language: Locale | None = None
    if args.lang is not None:
        try:
            language = parse_locale(args.lang)
        except LocaleError:
            raise UsageError(f"--lang {args.lang!r}: use ko or en") from None
    channel = parse_channel(args.channel)
    core = load_core(args)
    return asyncio.run(_main(core, language, args.charts, channel))


async def _main(core: Core, language: Locale | None, chart_dir: Path, channel: ChannelRef) -> int:
    url = core.settings.store_url
    try:
        app = await bootstrap(core.settings, core=core)
    except StoreUnavailable as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(f"store {redact_url(url)}: {exc}") from None
    try:
        services = app.services
    except ViewError as exc:
        await app.close()
        raise UsageError(str(exc)) from None
    try:
        return await run_console(
            services, app.registry, language=language, chart_dir=chart_dir, channel=channel
        )
    finally:
        await app.close()
