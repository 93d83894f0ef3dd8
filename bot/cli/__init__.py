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

# Each command's module, imported only when that command runs (a backtest never loads the
# chat platforms, the scheduler or matplotlib); each exposes `register(subparsers)`, whose
# parser sets `func` (argparse.Namespace -> int exit code).
COMMAND_MODULES: dict[str, str] = {
    "replay": "bot.cli.replay",
    "backtest": "bot.cli.backtest",
    "console": "bot.cli.console",
    "outbox": "bot.cli.outbox",
    "run": "bot.cli.run",
    "doctor": "bot.cli.doctor",
    "discord": "bot.cli.discord",
    "slack": "bot.cli.slack",
}

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


VERBOSE_HELP = "list the data warnings and log debug output"
EPILOG = (
    "Run `python -m bot COMMAND --help` for a command's options; -v works before or after "
    "the command. Nothing here is investment advice."
)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command `argv` names (the first word that is not an option), unless help for
    the whole program is asked for first."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word if word in COMMAND_MODULES else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `python -m bot` parser: with `command`, only that sub-command's module is imported
    and registered; without, all of them (help, a typo). Global options work before or after
    a sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in [command] if command in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(COMMAND_MODULES[name]).register(subparsers)
    for sub in subparsers.choices.values():
        # SUPPRESS: a sub-command without -v leaves the value set before it untouched.
        sub.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )
    return parser


def _bad_input_errors() -> tuple[type[Exception], ...]:
    """Errors that are bad input, not bugs (imported when one is raised: their modules
    are loaded by then)."""
    from bot.domain.history import HistoryError
    from bot.ports.store import StoreUnavailable

    return (StoreUnavailable, HistoryError)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen command, map bad input to exit code 2."""
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(chosen_command(words)).parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `| head`: the reader left, nothing more to say
        sys.stderr.close()
        return 0
    except Exception as exc:
        if not isinstance(exc, (UsageError, *_bad_input_errors())):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
