"""The runner in-process: its delivery worker, replay scoping, high speeds, platforms."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot import runner as runner_module
from bot.app import bootstrap
from bot.cli import main
from bot.cli.run import seed_replay_store
from bot.feeds.calendar import NYSE, session_calendar
from bot.feeds.replay_feed import VirtualClock
from bot.runner import Runner
from bot.settings import SettingsError, build_settings, load_settings


async def test_a_delivery_worker_that_dies_is_logged_in_one_line_and_stops_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = Runner(app=Any, out=io.StringIO(), env={})  # type: ignore[arg-type]

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
    runner = Runner(app=Any, out=io.StringIO(), env={})  # type: ignore[arg-type]
    delivery_stop = asyncio.Event()
    delivery_stop.set()

    async def returns() -> None:
        return None

    task = asyncio.create_task(returns())
    task.add_done_callback(lambda t: runner._worker_ended(t, delivery_stop))
    await task
    await asyncio.sleep(0)
    assert not runner.stop.is_set()


async def replay_in_process(
    tmp_path: Path,
    speed: float,
    caplog: pytest.LogCaptureFixture,
    *,
    deliver: bool = False,
    env: dict[str, str] | None = None,
) -> str:
    """Run `run --replay 2025-01-27 --speed SPEED` in this process; what the console got."""
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    session = pd.Timestamp("2025-01-27")
    opens = pd.Timestamp(session_calendar(NYSE).session_open(session)).to_pydatetime()
    clock = VirtualClock(opens - timedelta(hours=5, minutes=31), speed)
    app = await bootstrap(settings, store_url=f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    out = io.StringIO()
    try:
        await seed_replay_store(app.store, app.core.presets)
        runner = Runner(
            app, out, env or {}, replay=session, deliver=deliver, cache_dir=tmp_path / "c"
        )
        with caplog.at_level(logging.INFO, logger="bot.runner"):
            assert await runner.run() == 0
    finally:
        await app.close()
    return out.getvalue()


@pytest.mark.slow
async def test_at_the_highest_speed_the_open_and_close_alerts_and_then_the_digest_go_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = await replay_in_process(tmp_path, 100_000, caplog)
    assert "fired: chip_crash[notice] at open" in out
    assert "fired: deepseek[critical] at close" in out
    assert "delivered: console=3" in out
    keys = [r.getMessage().split("key=")[1] for r in caplog.records if "key=" in r.getMessage()]
    assert len(keys) == 3 and keys[2].startswith("digest:") and not keys[0].startswith("digest:")
    opening = out.index("Chip crash")
    closing = out.index("DeepSeek-style shock")
    digest = out.index("US market digest")
    assert opening < closing < digest
    assert "min late" not in out


TOKEN = "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.s3cr3t-discord-token"


@dataclass
class UnreachablePlatform:
    """A platform runtime whose start fails as discord.py's does without DNS."""

    platform: str = "discord"
    sink: Any = None
    closed: bool = False

    async def start(self) -> None:
        raise OSError(f"Cannot connect to host discord.com:443 [Name or service not known] {TOKEN}")

    async def close(self) -> None:
        self.closed = True


@pytest.mark.slow
async def test_a_platform_that_cannot_start_is_one_redacted_warning_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = UnreachablePlatform()
    monkeypatch.setattr(runner_module, "platform_runtimes", lambda app, env: [platform])
    out = await replay_in_process(
        tmp_path, 100_000, caplog, deliver=True, env={"DISCORD_TOKEN": TOKEN}
    )
    assert "delivered: console=3" in out and platform.closed
    [warning] = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.runner"
    ]
    message = warning.getMessage()
    assert message.startswith("platform discord did not start (OSError: Cannot connect")
    assert TOKEN not in message and "***" in message and warning.exc_info is None


def test_a_platform_settings_error_is_a_one_line_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def needs_app_token(app: Any, env: Any) -> list[Any]:
        raise SettingsError('Slack Socket Mode needs SLACK_APP_TOKEN (or set mode = "http")')

    monkeypatch.setattr(runner_module, "platform_runtimes", needs_app_token)
    monkeypatch.setenv("SPUTNIK_CONFIG", os.devnull)
    code = main(["run", "--replay", "2025-01-27", "--speed", "100000", "--deliver"])
    err = capsys.readouterr().err
    assert code == 2 and err.endswith(
        'error: Slack Socket Mode needs SLACK_APP_TOKEN (or set mode = "http")\n'
    )


@pytest.mark.slow
async def test_with_metrics_off_the_outbox_depth_is_never_sampled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampled: list[object] = []

    async def sample(metrics: object, store: object, stop: asyncio.Event) -> None:
        sampled.append(store)

    monkeypatch.setattr(runner_module, "sample_outbox_depth", sample)
    out = await replay_in_process(tmp_path, 100_000, caplog)
    assert "delivered: console=3" in out and sampled == []


@pytest.mark.slow
async def test_a_run_whose_delivery_worker_dies_stops_and_exits_1_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.deliver

    async def dies(*args: object, **kwargs: object) -> None:
        raise RuntimeError("NOSCRIPT No matching script")

    monkeypatch.setattr(jobs.deliver, "run_delivery_worker", dies)
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    session = pd.Timestamp("2025-01-27")
    clock = VirtualClock(pd.Timestamp("2025-01-27T09:00Z").to_pydatetime(), 100_000)
    app = await bootstrap(settings, store_url=f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    try:
        runner = Runner(app, io.StringIO(), {}, replay=session, cache_dir=tmp_path / "c")
        with caplog.at_level(logging.ERROR, logger="bot.runner"):
            assert await runner.run() == 1
    finally:
        await app.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.runner"]
    assert "delivery worker ended unexpectedly (RuntimeError: NOSCRIPT" in line


async def test_a_failed_backfill_is_one_warning_line_and_the_live_run_still_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fails(*args: object, **kwargs: object) -> list[str]:
        raise ConnectionError("query1.finance.yahoo.com: Name or service\nnot known")

    monkeypatch.setattr(runner_module, "backfill", fails)
    settings = build_settings({"feed": {"stream": False}})  # no connection is opened
    app = await bootstrap(settings, store_url=f"sqlite:///{tmp_path / 'live.db'}")
    try:
        runner = Runner(app, io.StringIO(), {}, cache_dir=tmp_path / "c")
        runner.stop.set()  # stop at once: only the start-up is under test
        with caplog.at_level(logging.WARNING, logger="bot.runner"):
            assert await asyncio.wait_for(runner.run(), 30) == 0
    finally:
        await app.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.runner"]
    assert line == (
        "backfill failed (ConnectionError: query1.finance.yahoo.com: Name or service not known);"
        " running on the shipped history"
    )
