"""`python -m bot console [--lang ko|en]`: the commands at a prompt (or from stdin)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.app import build_services
from bot.chat.console import run_console
from bot.cli import UsageError
from bot.cli.common import load_core
from bot.domain.i18n import Locale, LocaleError, parse_locale
from bot.domain.views import ViewError
from bot.stores import StoreUnavailable, open_store
from bot.stores.port import StoreError, redact_url
from handlers.registry import load_registry


def register(subparsers: Any) -> None:
    """Add the `console` sub-command."""
    parser = subparsers.add_parser(
        "console",
        help="ask the bot at a prompt (/shock NVDA 2025-01-27, /help), as one local channel",
    )
    parser.add_argument("--lang", help="the console channel's language: ko or en")
    parser.add_argument(
        "--charts", type=Path, default=Path("out/charts"), help="where chart PNGs are written"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the configured store and read commands."""
    language: Locale | None = None
    if args.lang is not None:
        try:
            language = parse_locale(args.lang)
        except LocaleError:
            raise UsageError(f"--lang {args.lang!r}: use ko or en") from None
    core = load_core(args)
    return asyncio.run(_main(core, language, args.charts))


async def _main(core: Any, language: Locale | None, chart_dir: Path) -> int:
    url = core.settings.store_url
    try:
        store = await open_store(url)
    except StoreUnavailable as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(f"store {redact_url(url)}: {exc}") from None
    try:
        services = build_services(core, store)
    except ViewError as exc:
        raise UsageError(str(exc)) from None
    try:
        return await run_console(services, load_registry(), language=language, chart_dir=chart_dir)
    finally:
        await store.close()
