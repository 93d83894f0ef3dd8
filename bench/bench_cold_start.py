"""Cold start: `python -m bot backtest deepseek` in a fresh process, next to the floor of
importing pandas, numpy and exchange_calendars, and next to reading the whole history up front.

Run: `make bench` or `.venv/bin/python -m bench cold_start`. Each figure is the median of
RUNS fresh processes, run interleaved so the machine's noise hits all three alike; printed,
never asserted. Target: the backtest within 0.5 s of the floor.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7
ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import pandas, numpy, exchange_calendars"
EAGER = (
    "import os; from bot.app import build_core; from bot.settings import load_settings; "
    "from bot.domain.backtest import run_backtest; "
    "from bot.domain.calendars import session_calendar; "
    "core = build_core(load_settings(env={'SPUTNIK_CONFIG': os.devnull}), lazy=False); "
    "session_calendar('XKRX'); run_backtest(core.market, core.presets['deepseek'])"
)
COMMANDS = {
    "floor: import pandas, numpy, exchange_calendars": [sys.executable, "-c", FLOOR],
    "python -m bot backtest deepseek (lazy)": [sys.executable, "-m", "bot", "backtest", "deepseek"],
    "same backtest, whole history read first": [sys.executable, "-c", EAGER],
}


def _once(argv: list[str]) -> float:
    env = {**os.environ, "SPUTNIK_CONFIG": os.devnull}
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Print the medians side by side, with the distance to the floor and the ratio."""
    timings: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():
        _once(argv)  # warm the OS file cache and .pyc files
    for _ in range(RUNS):
        for name, argv in COMMANDS.items():
            timings[name].append(_once(argv))
    floor = statistics.median(timings[next(iter(COMMANDS))])
    width = max(map(len, COMMANDS))
    print(f"{'':{width}} {'median':>8} {'best':>8} {'− floor':>8} {'× floor':>8}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:{width}} {median:7.2f}s {min(values):7.2f}s {median - floor:+7.2f}s "
            f"{median / floor:7.2f}x"
        )
    lazy = statistics.median(timings["python -m bot backtest deepseek (lazy)"])
    verdict = "met" if lazy - floor <= 0.5 else "NOT met"
    print(f"target: backtest within 0.5 s of the floor — {verdict} ({lazy - floor:+.2f} s)")


if __name__ == "__main__":
    main()
