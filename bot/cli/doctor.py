"""`python -m bot doctor`: check the configuration, every history file and the views."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import UsageError
from bot.cli.common import load_core
from bot.domain.calendars import KRX, NYSE, session_calendar
from bot.domain.history import HistoryError
from bot.domain.views import ViewError, load_views


def register(subparsers: Any) -> None:
    """Add the `doctor` sub-command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the configuration, every price-history file and the expert views, "
        "and list the known data warnings",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read everything a command may need and say what is wrong or worth knowing."""
    core = load_core(args)
    market = core.market
    try:
        warnings = [*core.warnings, *market.read_all()]
    except HistoryError as exc:
        raise UsageError(str(exc)) from None
    try:
        views = load_views(core.settings.views_dir)
    except ViewError as exc:
        raise UsageError(str(exc)) from None
    for name in (NYSE, KRX):
        session_calendar(name)
    symbols = market.symbols_with_data
    print(f"history: {len(symbols)} files in {core.settings.history_dir} read and checked")
    print(f"presets: {', '.join(core.presets)}")
    print(f"views: {len(views)} in {core.settings.views_dir}")
    print(f"calendars: {NYSE}, {KRX} built")
    if warnings:
        print(f"{len(warnings)} data warning(s) (documented in data/history/README.md):")
        for warning in dict.fromkeys(warnings):
            print(f"  warning: {warning}")
    else:
        print("no data warnings")
    sys.stdout.flush()
    return 0
