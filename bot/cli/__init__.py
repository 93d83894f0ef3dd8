"""Sputnik — market-shock alerts for chip traders, from the command line.

Replay a past session through the alert presets, backtest a rule over the whole price
history, talk to the bot at a prompt, look at pending deliveries, or check the data.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot.domain.history import HistoryError
from bot.stores.port import StoreUnavailable

# Each module named here exposes `register(subparsers)`; its parser sets `func`
# (argparse.Namespace -> int exit code).
COMMAND_MODULES: tuple[str, ...] = (
    "replay",
    "backtest",
    "console",
    "outbox",
    "run",
    "doctor",
    "discord",
    "slack",
)

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


VERBOSE_HELP = "list the data warnings and log debug output"
EPILOG = (
    "Run `python -m bot COMMAND --help` for a command's options; -v works before or after "
    "the command. Nothing here is investment advice."
)


def build_parser() -> argparse.ArgumentParser:
    """The full `python -m bot` parser; global options work before or after a sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bot.cli.{name}").register(subparsers)
    for sub in subparsers.choices.values():
        # SUPPRESS: a sub-command without -v leaves the value set before it untouched.
        sub.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen command, map bad input to exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except (UsageError, StoreUnavailable, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `| head`: the reader left, nothing more to say
        sys.stderr.close()
        return 0
    return code
