"""Helpers shared by the CLI commands: loading the core, dates, formatting."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from bot.app import build_core
from bot.cli import UsageError
from bot.domain.history import HistoryError
from bot.domain.i18n import format_pct
from bot.domain.price_metrics import Unavailable
from bot.domain.rules.presets import PresetError
from bot.domain.sessions import SessionError, parse_day
from bot.services import Core
from bot.settings import Settings, SettingsError, load_settings


def load_core(
    args: argparse.Namespace, data_dir: Path | None = None, *, settings: Settings | None = None
) -> Core:
    """Settings + market data; bad config or data becomes a UsageError (exit 2).

    The shipped history is read as the command needs it, and its known data warnings
    (documented in data/history/README.md) are listed only with -v (or by `doctor`); a
    user's own `--data` directory is checked up front and every warning is printed.
    """
    if data_dir is not None and not data_dir.is_dir():
        raise UsageError(f"--data {data_dir}: not a directory")
    # The loader's warnings are printed here, once each, rather than logged.
    logging.getLogger("bot.domain.history").setLevel(logging.ERROR)
    verbose = bool(getattr(args, "verbose", False))
    try:
        core = build_core(settings or load_settings(), data_dir)
        warnings = [*core.warnings, *core.market.read_all()] if verbose else list(core.warnings)
    except (HistoryError, PresetError, SettingsError) as exc:
        raise UsageError(str(exc)) from None
    for warning in dict.fromkeys(warnings):
        print(f"warning: {warning}", file=sys.stderr)
    return core


def parse_cli_day(text: str | None, flag: str) -> pd.Timestamp | None:
    """A --from/--to date, or None."""
    if text is None:
        return None
    try:
        return pd.Timestamp(parse_day(text))
    except SessionError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        raise UsageError(
            f"{flag}: {text.strip()} is outside the dates Sputnik can read"
            f" ({pd.Timestamp.min.date() + pd.Timedelta(days=1)} … {pd.Timestamp.max.date()})"
        ) from None


def pct(value: float | Unavailable | None) -> str:
    """A move in percent for console output (English conventions)."""
    if isinstance(value, Unavailable):
        return "n/a"
    return format_pct(value, "en")
