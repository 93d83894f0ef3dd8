"""Rule engine speed: 10,000 compiled rules vs the same rules hand-written; deepseek backtest.

Run: `make bench` or `.venv/bin/python -m bench rules`. Figures are printed, never asserted.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence

import pandas as pd

from bot.app import build_core
from bot.domain.backtest import run_backtest
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import custom_rule
from bot.settings import load_settings

RULES = 10_000
REPEATS = 21
SYMBOLS = ["SOX", "DJI", "SPX", "COMP", "NVDA", "AVGO", "AMD", "TSM", "MU", "VST", "CEG"]
Value = float | None
Handwritten = Callable[[Sequence[Value]], bool | None]


def _and_rule(a: int, x: float, b: int, y: float) -> Handwritten:
    def rule(v: Sequence[Value]) -> bool | None:
        first, second = v[a], v[b]
        if first is None or second is None:
            return None
        return first <= x and second > y

    return rule


def _spread_rule(a: int, b: int, x: float) -> Handwritten:
    def rule(v: Sequence[Value]) -> bool | None:
        first, second = v[a], v[b]
        if first is None or second is None:
            return None
        return first - second <= x

    return rule


def _below_rule(a: int, x: float) -> Handwritten:
    def rule(v: Sequence[Value]) -> bool | None:
        value = v[a]
        if value is None:
            return None
        return value <= x

    return rule


def _abs_rule(a: int, x: float) -> Handwritten:
    def rule(v: Sequence[Value]) -> bool | None:
        value = v[a]
        if value is None:
            return None
        return abs(value) >= x

    return rule


def make_rules(seed: int = 7) -> list[tuple[str, str, tuple[object, ...]]]:
    """(rule text, template, parameters) for RULES random rules of four shapes."""
    rng = random.Random(seed)
    rules = []
    for _ in range(RULES):
        a, b = rng.sample(SYMBOLS, 2)
        x, y = round(rng.uniform(1, 12), 2), round(rng.uniform(-2, 2), 2)
        shape = rng.randrange(4)
        if shape == 0:
            rules.append((f"{a}.pct <= {-x} and {b}.pct > {y}", "and", (a, -x, b, y)))
        elif shape == 1:
            rules.append((f"{a}.pct - {b}.pct <= {-x}", "spread", (a, b, -x)))
        elif shape == 2:
            rules.append((f"{a}.z <= {-x / 2}", "below_z", (a, -x / 2)))
        else:
            rules.append((f"abs({a}.pct) >= {x}", "abs", (a, x)))
    return rules


def best_of(function: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of several runs, in seconds (least disturbed by noise)."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    """Print the figures."""
    logging.getLogger("bot.domain.history").setLevel(logging.ERROR)  # known data warnings
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    started = time.perf_counter()
    core = build_core(settings, lazy=False)  # the whole history, read up front
    print(f"load shipped history + calendars: {time.perf_counter() - started:.2f} s")
    snapshot = core.market.snapshot(pd.Timestamp("2025-01-27"), "close")

    specs = make_rules()
    started = time.perf_counter()
    compiled = CompiledRules([custom_rule(text, core.market.symbols) for text, _, _ in specs])
    print(f"parse + compile {RULES:,} rules: {time.perf_counter() - started:.2f} s")
    _, values = compiled.read(snapshot)
    slot = {(s.instrument.label, s.metric): i for i, s in enumerate(compiled.table.slots)}
    handwritten: list[Handwritten] = []
    for _, shape, p in specs:
        if shape == "and":
            handwritten.append(
                _and_rule(slot[(p[0], "pct")], p[1], slot[(p[2], "pct")], p[3])  # type: ignore[arg-type]
            )
        elif shape == "spread":
            handwritten.append(_spread_rule(slot[(p[0], "pct")], slot[(p[1], "pct")], p[2]))  # type: ignore[arg-type,index]
        elif shape == "below_z":
            handwritten.append(_below_rule(slot[(p[0], "z")], p[1]))  # type: ignore[arg-type,index]
        else:
            handwritten.append(_abs_rule(slot[(p[0], "pct")], p[1]))  # type: ignore[arg-type,index]
    functions = [item.evaluate for item in compiled._compiled]

    fired_compiled = sum(1 for f in functions if f(values) is True)
    fired_floor = sum(1 for f in handwritten if f(values) is True)
    assert fired_compiled == fired_floor, "compiled and hand-written rules disagree"

    floor = best_of(lambda: [f(values) for f in handwritten])
    engine = best_of(lambda: [f(values) for f in functions])
    end_to_end = best_of(lambda: compiled.fired(snapshot))
    print(f"{RULES:,} rules vs one snapshot ({fired_floor:,} fire on 2025-01-27):")
    print(f"  hand-written Python (floor)   {floor * 1e3:8.2f} ms   1.00x")
    print(f"  compiled rules                {engine * 1e3:8.2f} ms   {engine / floor:.2f}x")
    print(
        f"  compiled + snapshot reads     {end_to_end * 1e3:8.2f} ms   {end_to_end / floor:.2f}x"
        "   (target for compiled: <= 3x the floor)"
    )

    deepseek = core.presets["deepseek"]
    run_backtest(core.market, deepseek)  # warm the metric tables (data loaded)
    timings = []
    for _ in range(21):
        started = time.perf_counter()
        result = run_backtest(core.market, deepseek)
        timings.append(time.perf_counter() - started)
    print(
        f"deepseek backtest over {result.sessions_tested:,} sessions "
        f"({result.first.date() if result.first is not None else '-'} …): "
        f"median {statistics.median(timings) * 1e3:.1f} ms, best {min(timings) * 1e3:.1f} ms, "
        f"{len(result.firings)} firings   (target < 50 ms)"
    )
