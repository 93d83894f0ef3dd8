"""The runner in-process: its delivery worker, replay scoping, high speeds, platforms.

Every test hands its parts to `bootstrap` (a worker, metrics, a feed); a failing dependency
is the real library pointed at a closed loopback port, never a stand-in for it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import socket
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.app import App, bootstrap, build_core
from bot.cli import main
from bot.cli.run import seed_replay_store
from bot.feeds.replay_day import replay_clock
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.ports import ChatSink
from bot.prometheus import Metrics
from bot.redaction import REDACTED
from bot.runner import Runner, start_failure
from bot.services import Core, ManualClock
from bot.settings import Settings, build_settings, load_settings
from tests.conftest import new_york_presets
from tests.fakes.yahoo_fake import LoopbackSession

TOKEN = "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.s3cr3t-discord-token"


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port: int = held.getsockname()[1]
    return port


@pytest.fixture(scope="module", autouse=True)
def yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """yfinance's timezone cache in a temporary directory (it ignores later calls)."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf-tz")))
    yield


async def test_a_delivery_worker_that_dies_is_logged_in_one_line_and_stops_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = Runner(app=Any)  # type: ignore[arg-type]

    async def dies() -> None:
        raise RuntimeError("ERR lease script\nmissing")

    delivery_stop = asyncio.Event()
    task = asyncio.create_task(dies())
    with caplog.at_level(logging.ERROR, logger="bot.runner"):
        task.add_done_callback(lambda t: runner._worker_ended(t, delivery_stop))
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert runner.stop.is_set()
    [line] = [r.getMessage() for r in caplog.records]
    assert "delivery worker ended unexpectedly (RuntimeError: ERR lease script missing)" in line


async def test_a_delivery_worker_told_to_stop_ends_without_stopping_anything_else() -> None:
    runner = Runner(app=Any)  # type: ignore[arg-type]
    delivery_stop = asyncio.Event()
    delivery_stop.set()

    async def returns() -> None:
        return None

    task = asyncio.create_task(returns())
    task.add_done_callback(lambda t: runner._worker_ended(t, delivery_stop))
    await task
    await asyncio.sleep(0)
    assert not runner.stop.is_set()


async def replay_app(
    tmp_path: Path,
    speed: float,
    *,
    settings: Settings | None = None,
    deliver: bool = False,
    env: Mapping[str, str] | None = None,
    real_start: float | None = None,
    every_preset: bool = False,
    **parts: Any,
) -> App:
    """`run --replay 2025-01-27 --speed SPEED [--start-at REAL_START]` bootstrapped in this
    process, its store seeded (New York's presets, or `every_preset`). The scheduler steps
    the virtual clock from one due time to the next, so what runs does not depend on how fast
    this machine is."""
    session = pd.Timestamp("2025-01-27")
    settings = settings or load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    core = build_core(settings)
    day, clock = replay_clock(core, session, speed, real_start=real_start)
    app = await bootstrap(
        settings,
        core=core,
        replay_day=day,
        store_url=f"sqlite:///{tmp_path / 'r.db'}",
        clock=clock,
        env=env or {},
        replay=session,
        deliver=deliver,
        cache_dir=tmp_path / "c",
        out=io.StringIO(),
        **parts,
    )
    await seed_replay_store(app.store, app.core.presets if every_preset else new_york_presets(core))
    return app


async def replay_in_process(
    tmp_path: Path, speed: float, caplog: pytest.LogCaptureFixture, **options: Any
) -> str:
    """Run the replay in this process to its end; what the console got."""
    app = await replay_app(tmp_path, speed, **options)
    try:
        with caplog.at_level(logging.INFO):
            assert await Runner(app).run() == 0
    finally:
        await app.close()
    assert isinstance(app.out, io.StringIO)
    return app.out.getvalue()


@pytest.mark.slow
async def test_at_the_highest_speed_the_open_and_close_alerts_and_then_the_digest_go_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = await replay_in_process(tmp_path, 100_000, caplog)
    assert "fired: chip_crash[notice] at open" in out
    assert "fired: deepseek[critical] at close" in out
    # SMH's pre-market chip crash and its escalation, the open, the close, then the digest
    assert "delivered: console=5" in out
    keys = [r.getMessage().split("key=")[1] for r in caplog.records if "key=" in r.getMessage()]
    assert len(keys) == 5 and [key.startswith("digest:") for key in keys] == [False] * 4 + [True]
    premarket = out.index("Chip crash")
    opening = out.index("NVIDIA decouples")
    closing = out.index("DeepSeek-style shock")
    digest = out.index("US market digest")
    assert premarket < opening < closing < digest
    assert "min late" not in out


DAY = [
    "fired: chip_crash[notice] at open 14:30Z",
    "fired: nvda_decoupling[warning] at open 14:30Z",
    "fired: deepseek[critical] at close 21:00Z",
    "fired: chip_crash[warning] at close 21:00Z",
    "fired: nvda_decoupling[critical] at close 21:00Z",
    "fired: ai_power_unwind[critical] at close 21:00Z",
]


@pytest.mark.slow
async def test_a_replay_whose_loop_is_hours_late_runs_each_check_with_its_own_figures_and_label(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, core: Core
) -> None:
    # Its virtual clock started 150 real seconds ago at 600x: 25 hours of trading time, more
    # than the whole day's (Sunday 18:00 New York, the CME's reopen, to the digest: 22.5 h;
    # the weekend before costs none), every check of it, are already due when the loop
    # starts (a loaded machine, an early --start-at).
    out = await replay_in_process(tmp_path, 600, caplog, real_start=time.time() - 150)
    # New York's presets (the overseas ones fire on their own markets' prints, tested apart).
    ours = {f"fired: {name}[" for name in new_york_presets(core)}
    fired = [line for line in out.splitlines() if line.startswith(tuple(ours))]
    premarket = [line for line in fired if " at pre " in line]
    assert [line for line in fired if line not in premarket] == DAY
    # Each of SMH's 5-minute bars (SOX's pre-market stand-in) at its end, however late.
    assert premarket[0] == "fired: chip_crash[notice] at pre 09:40Z"
    assert "fired: chip_crash[warning] at pre 10:10Z" in premarket
    assert premarket[-1] == "fired: chip_crash[notice] at pre 14:25Z"
    assert "delivered: console=5" in out
    smh, escalated, opening, closing, digest = out.split("→ console:replay:every-preset")[1:]
    assert "Chip crash" in smh and "NYSE 04:40 ET" in smh
    assert "Chip crash" in escalated and "NYSE 05:10 ET" in escalated
    assert "NVIDIA decouples" in opening and "Print: open · Mon 27 Jan 2025 23:30 KST" in opening
    assert "NVDA −12.49 % · SPX −2.17 %" in opening  # the open prints
    assert (
        "alerts at the close" in closing and "Print: close · Tue 28 Jan 2025 06:00 KST" in closing
    )
    assert "Figures: SOX −9.15 % · DJI +0.65 %" in closing
    assert "US market digest" in digest and "min late" not in out


@pytest.mark.slow
async def test_a_monday_replay_warns_from_tokyo_at_01_30_new_york_then_alerts_then_one_digest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The trading day that ends with Monday 2025-01-27's close: from Friday's New York close
    # (the weekend stepped over at once) through the CME's Sunday-evening reopen, Tokyo's
    # Monday and Amsterdam's morning, to Tuesday's 06:30 Seoul digest.
    out = await replay_in_process(tmp_path, 100_000, caplog, every_preset=True)
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "scheduler idle from=2025-01-24T21:00:00+00:00 to=2025-01-26T23:00:00+00:00: "
        "no market trades, nothing runs"
    ) in messages
    assert "fired: tokyo_deepseek[warning] at pre 06:30Z" in out
    assert "delivered: console=7" in out
    tokyo, amsterdam, smh, escalated, opening, closing, digest = out.split(
        "→ console:replay:every-preset"
    )[1:]
    assert "Early warning · Tokyo decoupling" in tokyo
    assert "Print: Mon 27 Jan 2025 15:30 KST · TSE close 15:30 JST" in tokyo  # 01:30 New York
    assert "ADVANTEST −8.61 % · N225 −0.92 %" in tokyo and "NYSE opens in 8 h 00 m" in tokyo
    assert "2 alerts at the Euronext open" in amsterdam and "ASML_AS −7.66 %" in amsterdam
    first = "First warning: 01:30 ET / 15:30 KST from TSE close: ADVANTEST −8.61 %"
    assert first in amsterdam
    # SOX's pre-market stand-in is SMH, whose 5-minute bars print at each bar's end.
    assert "[notice] Early warning · Chip crash" in smh and "NYSE 04:40 ET" in smh
    assert "SOX (proxy SMH) −5.87 %" in smh and first in smh
    assert "[WARNING] Early warning · Chip crash" in escalated and "NYSE 05:10 ET" in escalated
    assert "SOX (proxy SMH) −7.08 %" in escalated
    assert "NVIDIA decouples" in opening and "NVDA −12.49 %" in opening
    assert "alerts at the close" in closing and "SOX −9.15 % · DJI +0.65 %" in closing
    # Exactly one digest, Monday's: Friday's (Saturday 06:30 Seoul) falls inside the replay
    # and is not sent.
    assert "US market digest — Mon 27 Jan 2025" in digest and out.count("US market digest") == 1
    keys = [m.split("key=")[1] for m in messages if m.startswith("delivered platform=")]
    assert [key for key in keys if key.startswith("digest:")] == [
        "digest:console:replay:every-preset:2025-01-27T21:30:00+00:00"
    ]
    assert not [m for m in messages if "expire" in m]


@pytest.mark.slow
async def test_a_platform_that_cannot_start_is_one_redacted_warning_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    settings = build_settings({"discord": {"api_base": f"http://127.0.0.1:{port}/api/v10"}})
    app = await replay_app(
        tmp_path, 100_000, settings=settings, deliver=True, env={"DISCORD_TOKEN": TOKEN}
    )
    try:
        with caplog.at_level(logging.INFO):
            assert await Runner(app).run() == 0
        [discord] = app.runtimes  # discord.py itself, its login refused at the closed port
    finally:
        await app.close()
    assert isinstance(app.out, io.StringIO)
    assert "delivered: console=5" in app.out.getvalue()
    assert discord.platform == "discord" and discord.client.is_closed()  # type: ignore[attr-defined]
    [warning] = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.runner"
    ]
    message = warning.getMessage()
    assert message.startswith(
        f"platform discord did not start (ClientConnectorError: Cannot connect to host "
        f"127.0.0.1:{port}"
    )
    assert message.endswith("running without it, its items wait in the outbox")
    assert TOKEN not in message and warning.exc_info is None
    platforms = [r.getMessage() for r in caplog.records if r.getMessage().startswith("platform")]
    slack = "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) not set"
    # one line per platform: discord's is its warning
    assert platforms == [message, f"platform slack: off ({slack})"]


def test_a_platform_start_error_is_redacted_with_the_secrets_of_the_environment() -> None:
    error = OSError(f"Cannot connect to host discord.com:443 [Name or service not known] {TOKEN}")
    line = start_failure("discord", error, {"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in line and REDACTED in line
    assert line.startswith("platform discord did not start (OSError: Cannot connect to host")


def test_a_platform_settings_error_is_a_one_line_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Slack's own runtime refuses Socket Mode without an app token.
    for name in ("DISCORD_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-bot-token-for-the-test")
    monkeypatch.setenv("SPUTNIK_CONFIG", os.devnull)
    code = main(["run", "--replay", "2025-01-27", "--speed", "100000", "--deliver"])
    err = capsys.readouterr().err
    assert code == 2 and err.endswith(
        'error: Slack Socket Mode needs SLACK_APP_TOKEN (or set mode = "http")\n'
    )


@pytest.mark.slow
async def test_with_metrics_off_the_outbox_depth_is_never_sampled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    metrics.outbox_depth.set(-1)  # any sample would set it to the pending count
    out = await replay_in_process(tmp_path, 100_000, caplog, metrics=metrics)
    assert "delivered: console=5" in out
    assert metrics.registry.get_sample_value("sputnik_outbox_depth") == -1


@pytest.mark.slow
async def test_a_run_whose_delivery_worker_dies_stops_and_exits_1_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def dies(sinks: Mapping[str, ChatSink], stop: asyncio.Event) -> None:
        raise RuntimeError("NOSCRIPT No matching script")

    app = await replay_app(tmp_path, 100_000, worker=dies)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.runner"):
            assert await Runner(app).run() == 1
    finally:
        await app.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.runner"]
    assert "delivery worker ended unexpectedly (RuntimeError: NOSCRIPT" in line


async def test_a_failed_backfill_is_one_warning_line_and_the_live_run_still_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()  # yfinance itself, its every request refused
    feed = YahooPollFeed(lambda: LoopbackSession(port), timeout=5)
    after_the_history = ManualClock(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    app = await bootstrap(
        build_settings({"feed": {"stream": False}}),  # no stream connection
        store_url=f"sqlite:///{tmp_path / 'live.db'}",
        clock=after_the_history,
        env={},
        cache_dir=tmp_path / "c",
        out=io.StringIO(),
        feed=feed,
    )
    try:
        runner = Runner(app)
        runner.stop.set()  # stop at once: only the start-up is under test
        with caplog.at_level(logging.WARNING, logger="bot"):
            assert await asyncio.wait_for(runner.run(), 60) == 0
    finally:
        await app.close()
    assert app.daily_bars is feed
    [line] = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name in ("bot.runner", "bot.feeds.backfill")
    ]
    assert re.search(r"backfill from \S+ did not fill the gap: 0 of \d+ symbols", line), line
    assert "Yahoo said: " in line
