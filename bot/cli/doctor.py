"""`python -m bot doctor`: check the data, then what a live bot needs, one verdict per line.

First the configuration (the same validation every command runs at start; a key an older
version accepted is explained, with what to do instead; a bad one stops here), then every
history file, the presets, the views and the calendars (and the known data warnings); then
each market (its phase now, its next open, the Yahoo requests per hour its symbols cost and
how far its history reaches), the store (reachable, schema, Redis persistence), which tokens are set
(never their values), whether Yahoo answers (one real request, short timeout) and the
outbox's depth. Exit 0 unless a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import bootstrap
from bot.cli import UsageError
from bot.cli.common import load_core
from bot.domain.calendars import session_calendar
from bot.domain.freshness import freshness
from bot.domain.history import HistoryError
from bot.domain.library import load_library
from bot.domain.market import MarketData
from bot.domain.markets import MarketBook, markets
from bot.domain.model import redact_url
from bot.domain.views import ViewError
from bot.ports import StoreError, StoreMissing
from bot.services import Core
from bot.settings import (
    ENV_OVERRIDES,
    RETIRED_KEYS,
    Settings,
    SettingsError,
    config_file,
    load_settings,
)

TOKEN_NAMES = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
YAHOO_PROBE = "https://query2.finance.yahoo.com/v8/finance/chart/SPY?range=1d&interval=1d"

Check = tuple[str, str, str]
"""(verdict: ok | warn | fail, name, detail)."""


def register(subparsers: Any) -> None:
    """Add the `doctor` sub-command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the configuration, every price-history file and the expert views, "
        "the store, the tokens set, Yahoo and the outbox, and list the known data warnings",
    )
    parser.add_argument("--no-network", action="store_true", help="skip the Yahoo request")
    parser.set_defaults(func=run)


async def store_checks(core: Core) -> list[Check]:
    """Store reachable, its schema version, whether it keeps anything, outbox depth — as the
    store describes itself (`StoreAdmin.health`)."""
    url = core.settings.store_url
    try:
        app = await bootstrap(core.settings, core=core, create=False)
    except StoreMissing:
        return [("warn", "store", f"{redact_url(url)} not created yet (first use creates it)")]
    except Exception as exc:
        return [("fail", "store", f"{redact_url(url)}: {exc}")]
    store = app.store
    try:
        health = await store.health()
        items = await store.list_outbox()
    except StoreError as exc:
        return [("fail", "store", f"{redact_url(url)}: {exc}")]
    finally:
        await app.close()
    pending = sum(1 for i in items if i.state == "pending")
    parked = len(items) - pending
    return [
        ("ok", "store", f"{health.backend}: {health.detail}"),
        (health.durability, "persistence", health.durability_detail),
        ("warn" if parked else "ok", "outbox", f"{pending} pending, {parked} parked"),
    ]


def freshness_checks(
    market: MarketData, now: datetime, book: MarketBook | None = None
) -> list[Check]:
    """Each market's newest session (of its `freshness` series) against its last closed
    one: `warn` when it is behind (the backfill of a live run fills the gap; a replay or
    backtest is unaffected)."""
    checks: list[Check] = []
    for configured in book or markets():
        symbol = configured.freshness
        if not symbol or not market.has(symbol):
            continue
        age = freshness(market.sessions(symbol)[-1], symbol, now)
        verdict = "warn" if age.stale else "ok"
        checks.append((verdict, f"freshness {configured.label}", age.describe("en")))
    return checks


def market_checks(settings: Settings, now: datetime, book: MarketBook | None = None) -> list[Check]:
    """Each market: its phase now, its next open, and the Yahoo requests per hour its
    symbols cost while it is polled (one request per symbol per poll)."""
    book = book or markets()
    feed = settings.feed
    symbols = settings.watched_symbols()
    polls, safety = 3600 / feed.poll_seconds, 3600 / feed.safety_poll_seconds
    checks: list[Check] = []
    for market in book:
        count = sum(1 for symbol in symbols if book.for_symbol(symbol) is market)
        opens = market.next_open(now)
        when = "none in the calendar"
        if opens is not None:
            when = f"{opens.astimezone(ZoneInfo(market.zone)):%a %Y-%m-%d %H:%M} {market.zone}"
        noun = "symbol" if count == 1 else "symbols"
        cost = (
            f"{count} {noun}: {count * polls:,.0f} Yahoo requests/h while it trades "
            f"(a poll every {feed.poll_seconds:g} s)"
        )
        if feed.stream:
            cost += f", {count * safety:,.0f}/h while the stream is up"
        detail = f"{market.calendar}, {market.phase(now)} now, next open {when}; {cost}"
        checks.append(("ok", f"market {market.label}", detail))
    return checks


def config_check(env: Mapping[str, str]) -> tuple[Check, Settings | None]:
    """The configuration validated as every command validates it at start: one verdict."""
    try:
        path = config_file(None, env)
        settings = load_settings(env=env)
    except SettingsError as exc:
        retired = RETIRED_KEYS.get(exc.path) if exc.path is not None else None
        advice = f" — {retired.advice}" if retired is not None else ""
        return ("fail", "config", f"{exc}{advice}"), None
    source = f"defaults + {path}" if path is not None else "defaults (no config.toml)"
    overrides = [name for name in ENV_OVERRIDES if env.get(name)]
    if overrides:
        source += f" + {', '.join(overrides)}"
    detail = f"{source} valid: {len(settings.presets)} presets, {len(settings.aliases)} aliases"
    return ("ok", "config", detail), settings


def token_checks(env: Mapping[str, str]) -> list[Check]:
    """Which tokens are present — never their values."""
    present = [name for name in TOKEN_NAMES if env.get(name)]
    missing = [name for name in TOKEN_NAMES if not env.get(name)]
    detail = f"set: {', '.join(present) or 'none'}; unset: {', '.join(missing) or 'none'}"
    return [("ok" if present else "warn", "tokens", detail)]


def yahoo_check(get: Callable[[str], int] | None = None) -> Check:
    """One real request to Yahoo with a short timeout."""
    if get is None:

        def get(url: str) -> int:
            from curl_cffi import requests

            return int(requests.get(url, timeout=5, impersonate="chrome").status_code)

    try:
        status = get(YAHOO_PROBE)
    except Exception as exc:
        return ("warn", "yahoo", f"no answer ({type(exc).__name__})")
    return ("ok" if status < 400 else "warn", "yahoo", f"HTTP {status}")


def run(args: argparse.Namespace) -> int:
    """Read everything a command may need and say what is wrong or worth knowing."""
    config, settings = config_check(os.environ)
    if settings is None:  # nothing else can be checked without the settings
        print(f"{config[0]:<5} {config[1]}: {config[2]}")
        return 1
    core = load_core(args, settings=settings)
    market = core.market
    try:
        warnings = [*core.warnings, *market.read_all()]
    except HistoryError as exc:
        raise UsageError(str(exc)) from None
    try:
        views = load_library(core.settings.views_dir, shock_kinds=core.presets)
    except ViewError as exc:
        raise UsageError(str(exc)) from None
    calendars = list(dict.fromkeys(configured.calendar for configured in markets()))
    for name in calendars:
        session_calendar(name)
    symbols = market.symbols_with_data
    print(f"history: {len(symbols)} files in {core.settings.history_dir} read and checked")
    print(f"presets: {', '.join(core.presets)}")
    print(
        f"views: {len(views)} in {core.settings.views_dir}, "
        f"episodes: {', '.join(e.id for e in views.episodes) or 'none'}"
    )
    print(f"calendars: {', '.join(calendars)} built")
    if warnings:
        print(f"{len(warnings)} data warning(s) (documented in data/history/README.md):")
        for warning in dict.fromkeys(warnings):
            print(f"  warning: {warning}")
    else:
        print("no data warnings")
    checks = [config, *asyncio.run(store_checks(core))]
    now = datetime.now(UTC)
    checks += market_checks(core.settings, now)
    checks += freshness_checks(market, now)
    checks += token_checks(os.environ)
    if not getattr(args, "no_network", False):
        checks.append(yahoo_check())
    for verdict, name, detail in checks:
        print(f"{verdict:<5} {name}: {detail}")
    sys.stdout.flush()
    return 1 if any(verdict == "fail" for verdict, _, _ in checks) else 0
