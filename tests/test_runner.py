"""The runner in-process: its delivery worker, replay scoping, high speeds, platforms."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import pytest

from bot.runner import Runner


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
