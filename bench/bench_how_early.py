"""How early Sputnik warns: every New York session of a window replayed round the clock
(the walk `python -m bot replay DATE` prints), the day's first alert before the NYSE open
next to what the US-only presets gave.

Run: `.venv/bin/python -m bench how_early`. Prints the table for bench/README.md (the
sessions on which any preset fired before the open), the summary figures and the time the
walk took. One loaded core serves every day: the history, calendars and intraday bars are
read once, each day's tape is cut from them and walked on its own manual clock.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from bot.app import build_core
from bot.cli.common import pct
from bot.cli.replay_timeline import alert_where, lead_text
from bot.domain.calendars import sessions_between
from bot.domain.intraday import IntradayBook
from bot.domain.markets import market_for_symbol, markets
from bot.domain.rules.evaluate import RuleOutcome
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import Rule
from bot.feeds.replay_day import DayAlert, load_day_intraday, load_trading_day, walk_day
from bot.services import Core
from bot.settings import load_settings

WINDOW = (pd.Timestamp("2024-07-01"), pd.Timestamp("2025-04-30"))
"""The New York sessions walked: the span of the shipped Tokyo, Amsterdam and KOSPI
histories (their presets decide from 2024-07-02, the first session with a previous close)."""
TARGET = "SOX"
HIT = -3.0
CRASH = -5.0
TABLE_HEAD = (
    "| NYSE session | SOX | first warning: market, preset, figure | New York time | lead "
    "| US-only presets' first alert | New York time | lead |\n|---|---|---|---|---|---|---|---|"
)


@dataclass(frozen=True)
class EarlyDay:
    """One walked session: the first alert before the open, and the US-only presets' first."""

    session: pd.Timestamp
    sox: float | None
    """The target's move at New York's close (None without a close)."""
    first: DayAlert | None
    """The day's first alert before the default market's open (None: none came before)."""
    us_first: DayAlert | None
    """The first alert of a preset that reads only the default market's symbols."""


def us_only(rule: Rule) -> bool:
    """True when every symbol the rule reads trades on the default market."""
    default = markets().default
    return all(
        market_for_symbol(ref.instrument.symbol) is default for ref in metric_refs(rule.tree)
    )


def figure(outcome: RuleOutcome) -> str:
    """The move the alert's severity was read on ("ADVANTEST −8.61 %"): the input of its
    magnitude that equals it (the min or max chosen), else the largest of its inputs."""
    wanted = {
        (ref.instrument.label, ref.metric)
        for ref in metric_refs(outcome.rule.magnitude or outcome.rule.tree)
    }
    read = [
        item
        for item in outcome.inputs
        if item.number is not None and (item.instrument.label, item.metric) in wanted
    ]
    if not read:
        return ""
    size = abs(outcome.magnitude) if outcome.magnitude is not None else None
    exact = [i for i in read if size is not None and abs(abs(i.number or 0.0) - size) < 1e-9]
    chosen = exact[0] if exact else max(read, key=lambda i: abs(i.number or 0.0))
    metric = "" if chosen.metric == "pct" else f".{chosen.metric}"
    return f"{chosen.label}{metric} {pct(chosen.number)}"


async def how_early_day(
    core: Core,
    session: pd.Timestamp,
    rules: Sequence[Rule],
    intraday: IntradayBook | None = None,
) -> EarlyDay:
    """Walk `session`'s trading day round the clock with `rules` (the walk `python -m bot
    replay` prints); its first alert before the open and the US-only presets' first alert.
    `intraday`: the bars read once for many days (default: read for this day)."""
    day = load_trading_day(core, session, intraday)
    walked = await walk_day(core, day, rules)
    early = next((alert for alert in walked.alerts if alert.lead > timedelta(0)), None)
    us_ids = {rule.id for rule in rules if us_only(rule)}
    us_first = next((a for a in walked.alerts if a.outcome.rule.id in us_ids), None)
    return EarlyDay(session, target_move(core, session), early, us_first)


def target_move(core: Core, session: pd.Timestamp) -> float | None:
    """SOX's move at New York's close on `session`, from the shipped history."""
    instrument = core.market.symbols.resolve(TARGET)
    column = core.market.column(instrument, "pct", pd.DatetimeIndex([session]))
    value = float(column.values[0])
    return None if value != value else value


def window_sessions() -> list[pd.Timestamp]:
    """The default market's sessions inside `WINDOW`."""
    calendar = markets().default.calendar
    return [pd.Timestamp(s) for s in sessions_between(calendar, *WINDOW)]


def _alert_cells(alert: DayAlert | None, figures: bool = True) -> list[str]:
    if alert is None:
        return ["none", "", ""]
    what = f"{alert_where(alert)}: `{alert.outcome.rule.id}`"
    if figures and (shown := figure(alert.outcome)):
        what += f" {shown}"
    zone = ZoneInfo(markets().default.zone)
    local, opens = alert.at.astimezone(zone), alert.opens.astimezone(zone)
    when = local.strftime("%H:%M" if local.date() == opens.date() else "%a %H:%M")
    return [what, when, lead_text(alert.lead)]


def table_row(row: EarlyDay) -> str:
    """The session's line of the README's table."""
    cells = [
        f"{row.session:%Y-%m-%d}",
        pct(row.sox) if row.sox is not None else "n/a",
        *_alert_cells(row.first),
        *_alert_cells(row.us_first),
    ]
    return "| " + " | ".join(cells) + " |"


def _minus(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def _span(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} m"


def summary_lines(rows: Sequence[EarlyDay]) -> list[str]:
    """Days with an early warning, where it came from, the median lead, and the crashes."""
    early = [row for row in rows if row.first is not None]
    leads = [row.first.lead for row in early if row.first is not None]
    sources: dict[str, int] = {}
    for row in early:
        assert row.first is not None
        name = row.first.market.label or row.first.market.name
        sources[name] = sources.get(name, 0) + 1
    lines = [
        f"sessions walked: {len(rows)} ({rows[0].session:%Y-%m-%d} … {rows[-1].session:%Y-%m-%d})"
        if rows
        else "sessions walked: 0",
        f"sessions with an alert before the NYSE open: {len(early)} (first from "
        + ", ".join(f"{name} {count}" for name, count in sorted(sources.items()))
        + ")",
    ]
    if leads:
        median = statistics.median(lead.total_seconds() for lead in leads)
        lines.append(
            f"lead of the first warning: median {_span(timedelta(seconds=median))}, "
            f"min {_span(min(leads))}, max {_span(max(leads))}"
        )
    hits = [row for row in early if row.sox is not None and row.sox <= HIT]
    lines.append(
        f"of those, New York's SOX closed at or below {_minus(HIT)} %: {len(hits)}/{len(early)}"
    )
    crashes = [row for row in rows if row.sox is not None and row.sox <= CRASH]
    warned = [row for row in crashes if row.first is not None]
    lines.append(
        f"sessions with SOX ≤ {_minus(CRASH)} %: {len(crashes)}; warned before the open: "
        f"{len(warned)}/{len(crashes)}"
    )
    for row in crashes:
        us = row.us_first
        us_text = "none" if us is None else f"{us.outcome.rule.id} {lead_text(us.lead)}"
        if row.first is None:
            lines.append(
                f"  {row.session:%Y-%m-%d} SOX {pct(row.sox)}: no early warning; US-only: {us_text}"
            )
        else:
            lines.append(
                f"  {row.session:%Y-%m-%d} SOX {pct(row.sox)}: {alert_where(row.first)} "
                f"{row.first.outcome.rule.id} {lead_text(row.first.lead)}; US-only: {us_text}"
            )
    return lines


def main() -> None:
    """Walk the window with one loaded core, print the timing, the table and the summary."""
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    core = build_core(load_settings())
    sessions = window_sessions()
    rules = list(core.presets.values())
    intraday = load_day_intraday(core)
    rows: list[EarlyDay] = []
    took: list[float] = []
    for session in sessions:
        begun = time.perf_counter()
        rows.append(asyncio.run(how_early_day(core, session, rules, intraday)))
        took.append(time.perf_counter() - begun)
    total = time.perf_counter() - started
    print(
        f"walked {len(sessions)} trading days round the clock in {total:.1f} s: the first "
        f"(history read, calendars built) {took[0]:.2f} s, then median "
        f"{statistics.median(took[1:]):.2f} s a day, slowest {max(took[1:]):.2f} s"
    )
    print()
    print(TABLE_HEAD)
    print("\n".join(table_row(row) for row in rows if row.first is not None))
    print()
    print("\n".join(summary_lines(rows)))
