"""Overseas presets as predictors of New York: a grid search that picks every threshold by a
rule stated before looking at the results (and before looking at 2025-01-27).

Run: `.venv/bin/python -m bench presets`. Prints, per preset family, the whole grid (firings,
firings per year, precision, recall) and the pick, then each pick as it would ship.

The rule (`SELECTION_RULE`, applied by `pick`):

1. A candidate is *eligible* when, over its market's shipped window, it fires at least
   `MIN_FIRINGS` times, at most `MAX_PER_YEAR` times a year, and with precision at least
   `MIN_PRECISION` (a firing is right when the New York session it leads into has SOX at
   or below `HIT` %).
2. Among eligible candidates: the highest recall (New York sessions with SOX at or below
   `CRASH` % that some firing led into, of all such sessions in the window); then the higher
   precision; then more firings; then grid order (the lower chip threshold, then the more
   tolerant market threshold).
3. When none is eligible: among candidates firing at least `MIN_FIRINGS` times and at most
   `MAX_PER_YEAR` times a year, the highest precision, then recall, firings, grid order.
4. When none fires that often: the candidate with the most firings at most `MAX_PER_YEAR` a
   year, then precision, then grid order.

Tiers follow from the pick (`tiers_for`): a crash preset's notice / warning / critical at
1, 1.4 and 2 times its threshold; a decoupling preset's warning / critical at 1 and 1.6 times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from bot.app import build_core
from bot.domain.market import MarketData
from bot.domain.pairing import market_name
from bot.domain.predictor import Judgement, judge
from bot.domain.rules.presets import custom_rule
from bot.settings import load_settings

HIT = -3.0
CRASH = -5.0
TARGET = "SOX"
MIN_FIRINGS = 3
MAX_PER_YEAR = 6.0
MIN_PRECISION = 0.5
SELECTION_RULE = (
    f"eligible: ≥ {MIN_FIRINGS} firings, ≤ {MAX_PER_YEAR:g} a year, precision ≥ "
    f"{MIN_PRECISION:.0%}; pick the highest recall, then precision, then more firings, then "
    "the lower chip threshold and the more tolerant market threshold; if none is eligible, "
    "the highest precision among those with ≥ 3 firings and ≤ 6 a year"
)

CHIP_GRID = tuple(x / 2 for x in range(2, 21))  # 1.0, 1.5, … 10.0 (%)
HOLD_GRID = (2.0, 1.5, 1.0, 0.5, 0.0)  # the market holds above −y % (most tolerant first)
MAX_LISTED = 15
"""Missed sessions are listed up to this many (else counted)."""
TABLE_HEAD = (
    "| preset | rule | market, judged at | window (sessions) | firings (per year) "
    "| precision: SOX ≤ −3 % | recall: SOX ≤ −5 % |\n|---|---|---|---|---|---|---|"
)


@dataclass(frozen=True)
class Family:
    """A preset to ship: its rule's shape, with `{x}` the chip threshold and `{y}` the
    market's (decoupling shapes only)."""

    name: str
    expr: str
    magnitude: str
    kind: str
    """"crash" or "decoupling" (which tiers follow from the pick)."""

    def candidates(self) -> Iterator[tuple[float, float | None]]:
        """(x, y) in grid order."""
        for x in CHIP_GRID:
            if "{y}" in self.expr:
                for y in HOLD_GRID:
                    yield x, y
            else:
                yield x, None

    def text(self, x: float, y: float | None) -> str:
        """The rule's text for one candidate."""
        return self.expr.format(x=_num(x), y=_num(y) if y is not None else "")


FAMILIES = (
    Family(
        "tokyo_deepseek",
        "min(TEL.pct, ADVANTEST.pct) <= -{x} and N225.pct > -{y}",
        "-min(TEL.pct, ADVANTEST.pct)",
        "decoupling",
    ),
    Family(
        "tokyo_chip_crash",
        "max(TEL.pct, ADVANTEST.pct) <= -{x}",
        "-max(TEL.pct, ADVANTEST.pct)",
        "crash",
    ),
    Family(
        "europe_deepseek", "ASML_AS.pct <= -{x} and SX5E.pct > -{y}", "-ASML_AS.pct", "decoupling"
    ),
    Family("europe_chip_crash", "ASML_AS.pct <= -{x}", "-ASML_AS.pct", "crash"),
    Family("seoul_deepseek", "HYNIX.pct <= -{x} and KOSPI.pct > -{y}", "-HYNIX.pct", "decoupling"),
    Family(
        "seoul_chip_crash",
        "max(HYNIX.gap, SAMSUNG.gap) <= -{x}",
        "-max(HYNIX.gap, SAMSUNG.gap)",
        "crash",
    ),
    Family("futures_deepseek", "NQ.pct <= -{x} and YM.pct > -{y}", "-NQ.pct", "decoupling"),
    Family("futures_crash", "NQ.pct <= -{x}", "-NQ.pct", "crash"),
)


@dataclass(frozen=True)
class Candidate:
    """One grid point and its judgement."""

    x: float
    y: float | None
    judgement: Judgement

    def key(self) -> tuple[float, float, int]:
        """Recall, precision, firings (unknown counts as 0)."""
        j = self.judgement
        return (j.recall or 0.0, j.precision or 0.0, len(j.firings))


def grid(data: MarketData, family: Family) -> list[Candidate]:
    """Every candidate of a family, judged over its market's shipped window."""
    target = data.symbols.resolve(TARGET)
    found = []
    for x, y in family.candidates():
        rule = custom_rule(family.text(x, y), data.symbols, family.name)
        found.append(Candidate(x, y, judge(data, rule, target, HIT, CRASH)))
    return found


def pick(candidates: list[Candidate]) -> tuple[Candidate, str]:
    """The candidate the stated rule picks, and which step of the rule picked it."""
    often = [
        c
        for c in candidates
        if len(c.judgement.firings) >= MIN_FIRINGS and c.judgement.per_year <= MAX_PER_YEAR
    ]
    eligible = [c for c in often if (c.judgement.precision or 0.0) >= MIN_PRECISION]
    if eligible:  # max() keeps the first of equals: grid order breaks the last tie
        return max(eligible, key=Candidate.key), "eligible"
    if often:
        return max(often, key=lambda c: (c.key()[1], c.key()[0], c.key()[2])), "precision < 50 %"
    rare = [c for c in candidates if c.judgement.per_year <= MAX_PER_YEAR]
    chosen = max(rare or candidates, key=lambda c: (len(c.judgement.firings), c.key()[1]))
    return chosen, f"fewer than {MIN_FIRINGS} firings"


def tiers_for(kind: str, x: float) -> dict[str, float]:
    """The tiers that follow from a picked chip threshold."""
    if kind == "crash":
        return {"notice": x, "warning": round(1.4 * x, 1), "critical": 2 * x}
    return {"warning": x, "critical": round(1.6 * x, 1)}


def _num(value: float) -> str:
    return f"{value:g}"


def _signed(value: float, digits: int = 2) -> str:
    """`−6.81 %` (U+2212 minus, as the project prints moves)."""
    return f"{value:+.{digits}f} %".replace("-", "−")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def describe(family: Family, chosen: Candidate, step: str) -> list[str]:
    """The pick: its rule, the step of the selection rule that chose it, and its tiers."""
    return [
        f"{family.name}: {family.text(chosen.x, chosen.y)}   [{step}]   "
        f"tiers {tiers_for(family.kind, chosen.x)}"
    ]


def readme_lines(name: str, j: Judgement) -> list[str]:
    """A preset's row of the README table, then the sessions it fired on (and missed)."""
    market = market_name(j.market)
    row = (
        f"| `{name}` | `{j.rule.text}` | {market}, {j.at} | {j.first.date()} … {j.last.date()} "
        f"({j.sessions}) | {len(j.firings)} ({j.per_year:.1f}/y) | {j.hits}/{j.judged} = "
        f"{_pct(j.precision)} | {len(j.warned)}/{len(j.crashes)} = {_pct(j.recall)} |"
    )
    fired = ", ".join(
        f"{lead.session.date()} → {lead.led_into.date() if lead.led_into is not None else '—'} "
        f"({'n/a' if lead.target is None else _signed(lead.target)})"
        for lead in j.firings
    )
    missed = [day.date().isoformat() for day in j.crashes if day not in j.warned]
    missed_text = ", ".join(missed) if len(missed) <= MAX_LISTED else f"{len(missed)} sessions"
    return [
        row,
        f"- `{name}` fired ({market} session → NYSE session, SOX): {fired or 'never'}; "
        f"missed SOX ≤ {_signed(CRASH, 0)}: {missed_text or 'none'}",
    ]


def main() -> None:
    """Print every family's grid and its pick."""
    logging.disable(logging.WARNING)
    core = build_core(load_settings())
    data = core.market
    print(f"Rule: {SELECTION_RULE}")
    print(f"Hit: NYSE session with SOX ≤ {HIT:g} %; crash: SOX ≤ {CRASH:g} %.\n")
    picks, rows = [], []
    for family in FAMILIES:
        candidates = grid(data, family)
        print(f"{family.name}   (x: chips; y: market)")
        print(f"  {'x':>5} {'y':>4} {'fired':>5} {'/y':>5} {'prec':>5} {'recall':>6}")
        for c in candidates:
            j = c.judgement
            if not j.firings:
                continue
            y = "" if c.y is None else _num(c.y)
            print(
                f"  {_num(c.x):>5} {y:>4} {len(j.firings):>5} {j.per_year:>5.1f} "
                f"{_pct(j.precision):>5} {_pct(j.recall):>6}"
            )
        chosen, step = pick(candidates)
        picks.append(describe(family, chosen, step))
        rows.append(readme_lines(family.name, chosen.judgement))
        print()
    print("Picks:")
    for lines in picks:
        print("\n".join(lines))
    print("\nFor bench/README.md:")
    print(TABLE_HEAD)
    print("\n".join(lines[0] for lines in rows))
    print()
    print("\n".join(lines[1] for lines in rows))
