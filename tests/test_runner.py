"""The runner in-process: its delivery worker, replay scoping, high speeds, platforms."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.app import bootstrap
from bot.cli.run import seed_replay_store
from bot.feeds.calendar import NYSE, session_calendar
from bot.feeds.replay_feed import VirtualClock
from bot.runner import Runner
from bot.settings import load_settings


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


async def replay_in_process(tmp_path: Path, speed: float, caplog: pytest.LogCaptureFixture) -> str:
    """Run `run --replay 2025-01-27 --speed SPEED` in this process; what the console got."""
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    session = pd.Timestamp("2025-01-27")
    opens = pd.Timestamp(session_calendar(NYSE).session_open(session)).to_pydatetime()
    clock = VirtualClock(opens - timedelta(hours=5, minutes=31), speed)
    app = await bootstrap(settings, store_url=f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    out = io.StringIO()
    try:
        await seed_replay_store(app.store, app.core.presets)
        runner = Runner(app, out, {}, replay=session, deliver=False, cache_dir=tmp_path / "c")
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
