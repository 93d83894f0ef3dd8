"""`python -m bot run [--config PATH] [--ready-file PATH] [--replay DATE --speed N
[--start-at EPOCH | --start-file PATH] [--store URL] [--deliver]]`: the bot, live or as an
accelerated replay of one trading day round the clock (from the previous New York close to
DATE's digest; the stretches in which no market trades cost no real time).

A replay never posts into production by accident: by default it uses an in-memory store
(`memory://`) seeded with one console channel subscribed to every preset and to a 06:30 Seoul
digest; `--store URL` uses that store instead, and Discord/Slack are sent to only with
`--deliver`. A store that only one `run` may drive (SQLite) says so (`run_lock`): a second
one exits 2; use Redis for several.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import math
import os
import signal
import tempfile
import time
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from bot.app import App, bootstrap, build_core
from bot.cli import UsageError
from bot.domain.history import HistoryError
from bot.domain.model import Channel, ChannelRef, Subscription, redact_url
from bot.domain.replay import history_sessions
from bot.domain.rules.presets import PresetError
from bot.domain.sessions import SessionError, resolve_session
from bot.domain.trading_day import TradingDay
from bot.domain.views import ViewError
from bot.feeds.replay_day import replay_clock
from bot.logging_setup import configure_logging
from bot.ports import Clock
from bot.ports.store import Store, StoreError, StoreUnavailable
from bot.runner import Runner
from bot.services import Core, SystemClock
from bot.settings import Settings, SettingsError, load_settings

DEFAULT_SPEED = 600.0
MAX_SPEED = 100_000.0
REPLAY_CHANNEL = Channel(ChannelRef("console", "replay", "every-preset"), "en", "Asia/Seoul")


def register(subparsers: Any) -> None:
    """Add the `run` sub-command."""
    parser = subparsers.add_parser("run", help="run the bot (live, or --replay a session)")
    parser.add_argument("--config", type=Path, help="config file (default config.toml)")
    parser.add_argument(
        "--replay",
        metavar="DATE",
        help="replay the trading day that ends with this session's close (NYSE as shipped)",
    )
    parser.add_argument("--speed", help=f"replay speed (x real time, default {DEFAULT_SPEED:g})")
    parser.add_argument("--start-at", help="real epoch the virtual clock starts at")
    parser.add_argument(
        "--start-file",
        type=Path,
        help="replay: once ready, wait for a real epoch in this file and start the clock there",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="write this file once the store, feeds and chat platforms are up",
    )
    parser.add_argument("--store", help="store URL (replay default: a temporary store)")
    parser.add_argument("--deliver", action="store_true", help="replay: send to Discord/Slack")
    parser.set_defaults(func=run)


def _number(flag: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{flag} must be a finite number, not {text!r}")
    return value


def speed_value(text: str) -> float:
    """`--speed`: a finite number, 0 < speed ≤ 100000 (else UsageError: one line, exit 2)."""
    speed = _number("--speed", text)
    if not 0 < speed <= MAX_SPEED:
        raise UsageError(f"--speed must be above 0 and at most {MAX_SPEED:g}, not {text}")
    return speed


def start_at_value(text: str, now: float | None = None) -> float:
    """`--start-at`: a finite real epoch within a day of now (else UsageError, exit 2)."""
    epoch = _number("--start-at", text)
    if abs(epoch - (time.time() if now is None else now)) > 86400:
        raise UsageError(f"--start-at must be a real epoch within a day of now, not {text}")
    return epoch


def check_replay_options(args: argparse.Namespace) -> None:
    """Validate `--speed`/`--start-at` (into numbers); the replay-only options without
    `--replay` are a usage error, not a live bot."""
    if args.replay is not None:
        if args.speed is not None:
            args.speed = speed_value(args.speed)
        if args.start_at is not None:
            args.start_at = start_at_value(args.start_at)
        if args.start_at is not None and args.start_file is not None:
            raise UsageError("--start-at and --start-file: give one of them, not both")
        return
    given = [
        flag
        for flag, value in (
            ("--speed", args.speed),
            ("--start-at", args.start_at),
            ("--start-file", args.start_file),
            ("--store", args.store),
            ("--deliver", args.deliver or None),
        )
        if value is not None
    ]
    if given:
        raise UsageError(f"{', '.join(given)}: only with --replay (a live run takes none of them)")


def single_instance_lock(store: Store, stack: ExitStack) -> None:
    """Refuse a second `run` on a store only one process may drive (SQLite: UsageError →
    exit 2); the lock is held until `stack` closes."""
    lock_path = store.run_lock()
    if lock_path is None:
        return
    path = str(lock_path).removesuffix(".run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = stack.enter_context(lock_path.open("w"))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UsageError(
            f"another `run` already uses {path}: SQLite is single-instance — stop it, or use "
            'Redis ([store] url = "redis://…") to run several bot processes'
        ) from None
    handle.write(str(os.getpid()))
    handle.flush()


async def seed_replay_store(store: Store, presets: Iterable[str]) -> None:
    """One console channel subscribed to every preset and to a 06:30 Seoul digest."""
    await store.upsert_channel(REPLAY_CHANNEL)
    for preset in presets:
        await store.add_subscription(Subscription(REPLAY_CHANNEL.ref, preset))
    digest = Subscription(
        REPLAY_CHANNEL.ref, "digest", kind="digest", digest_time="06:30", digest_zone="Asia/Seoul"
    )
    await store.add_subscription(digest)


def _settings(args: argparse.Namespace, env: Mapping[str, str] | None) -> Settings:
    try:
        return load_settings(args.config, env)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run the bot; exit 0 on a clean stop, 2 on bad input. `env` holds the settings'
    overrides and the platforms' tokens (default: the process environment)."""
    check_replay_options(args)
    settings = _settings(args, env)
    configure_logging(
        level="debug" if args.verbose else settings.logging.level,
        style=settings.logging.format,
    )
    try:
        core = build_core(settings)
    except (HistoryError, PresetError) as exc:
        raise UsageError(str(exc)) from None
    session: pd.Timestamp | None = None
    day: TradingDay | None = None
    clock: Clock = SystemClock()
    if args.replay is not None:
        try:
            session = resolve_session(args.replay, history_sessions(core.market))
        except SessionError as exc:
            raise UsageError(str(exc)) from None
        speed = DEFAULT_SPEED if args.speed is None else args.speed
        day, clock = replay_clock(core, session, speed, real_start=args.start_at)
    with ExitStack() as stack:
        url = args.store or settings.store_url
        seed = False
        if session is not None and args.store is None:
            url, seed = "memory://", True
        cache = (
            Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if session is not None
            else None
        )
        options = Options(
            url,
            clock,
            session,
            seed,
            bool(args.deliver),
            cache,
            args.ready_file,
            args.start_file,
            day,
        )
        try:
            return asyncio.run(_main(core, options, os.environ if env is None else env))
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the work is done: exit 0


def run_live(env: Mapping[str, str], *, verbose: bool = False) -> int:
    """The live bot with the default config (`slack web|socket`: Slack in the mode `env`
    names, beside Discord and the scheduler, in one process)."""
    no_options = dict(config=None, replay=None, speed=None, start_at=None, store=None)
    no_options.update(start_file=None, ready_file=None)
    return run(argparse.Namespace(**no_options, deliver=False, verbose=verbose), env)


@dataclass(frozen=True)
class Options:
    """What `run` decided from its flags: the store, the clock, the replayed session."""

    url: str
    clock: Clock
    session: pd.Timestamp | None
    seed: bool
    deliver: bool
    cache: Path | None
    ready_file: Path | None = None
    start_file: Path | None = None
    day: TradingDay | None = None
    """A replay's trading day round the clock."""


async def _main(core: Core, options: Options, env: Mapping[str, str]) -> int:
    url, session = options.url, options.session
    try:
        app = await bootstrap(
            core.settings,
            core=core,
            store_url=url,
            clock=options.clock,
            env=env,
            replay=session,
            deliver=session is None or options.deliver,
            cache_dir=options.cache,
            replay_day=options.day,
        )
    except StoreUnavailable as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(f"store {redact_url(url)}: {exc}") from None
    try:
        with ExitStack() as stack:
            single_instance_lock(app.store, stack)
            return await _serve(app, options)
    finally:
        await app.close()


async def _serve(app: App, options: Options) -> int:
    try:
        if options.seed:
            await seed_replay_store(app.store, app.core.presets)
        return await Runner(app, ready_file=options.ready_file, start_file=options.start_file).run()
    except (SettingsError, ViewError) as exc:  # a platform's settings, the views: before
        raise UsageError(str(exc)) from None  # the runner starts anything
