"""`/shock NVDA` end to end with its chart, 50 runs in a warm process: p50 and p95.

Run: `make bench` or `.venv/bin/python -m bench shock`. Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from bot.app import build_core
from bot.domain.cards import Severity
from bot.harness import Harness
from bot.settings import load_settings

RUNS = 50


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _measure(command: str, harness: Harness) -> list[float]:
    await harness.run(command)  # warm: metric tables, fonts, first figure
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        card = await harness.run(command)
        timings.append(time.perf_counter() - started)
        assert card.severity is not Severity.ERROR, card.text
        assert card.chart_png or not command.startswith("/shock")
    return timings


async def _main() -> None:
    logging.getLogger("bot.domain.history").setLevel(logging.ERROR)  # known data warnings
    core = build_core(load_settings(env={"SPUTNIK_CONFIG": os.devnull}))
    with tempfile.TemporaryDirectory() as directory:
        harness = await Harness.start(core, f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            for command in ("/shock NVDA 2025-01-27", "/shock NVDA", "/quote"):
                timings = await _measure(command, harness)
                print(
                    f"{command:<26} {RUNS} runs: p50 {statistics.median(timings) * 1e3:6.1f} ms, "
                    f"p95 {_percentile(timings, 0.95) * 1e3:6.1f} ms, "
                    f"max {max(timings) * 1e3:6.1f} ms   (target p95 < 300 ms)"
                )
        finally:
            await harness.close()


def main() -> None:
    """Print the figures."""
    asyncio.run(_main())
