"""The early-warning chain of one trading day: every alert of the day that follows the sun.

A trading day is the default market's session (the day New York watches): Tokyo's Monday
close and Amsterdam's Monday open belong to New York's Monday. Each alert of the day is one
`ChainLink`, kept in the store keyed by the day (shared by every instance); an alert says
when and where Sputnik first warned and lists the day's earlier links. An alert before the
default market's open is an early warning: it says when that market opens, which of its
presets watch the same story at the open (the presets sharing its topics) and which of its
names moved most with the alerting series over the shipped history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from bot.domain.market import MarketData
from bot.domain.markets import MarketBook
from bot.domain.rules.parser import metric_refs
from bot.domain.rules.presets import Rule

CHAIN_SUBSCRIPTION = "early_warning"
"""The one subscription to the whole chain (`/subscribe alerts early_warning`)."""
CHAIN_LINES = 5
"""The card-layout contract's room for the chain (part 4)."""
_MOVES = ("pct", "gap", "intraday")


@dataclass(frozen=True)
class ChainLink:
    """One alert of the trading day: when, which preset, on which market, its figure."""

    at: datetime
    rule_id: str
    severity: str
    market: str
    zone: str
    label: str
    value: float | None
    early: bool
    """True when it came before the default market's regular open."""
    market_label: str = ""
    rank: int = 0
    """The tier's rank: a later link of the same preset is kept only when it escalates."""
    stage: str = ""
    """The print's stage in its own market: `close` for Tokyo's 15:30, `pre` for New York's
    pre-market ("" when unknown: a link stored before stages)."""

    @property
    def key(self) -> str:
        """Its identity within the day: one link per (print time, preset)."""
        return f"{self.at.isoformat()}|{self.rule_id}"

    def to_doc(self) -> dict[str, Any]:
        """The link as a JSON-ready dict (times as ISO strings), as payloads carry it."""
        return {**asdict(self), "at": self.at.isoformat()}

    def to_json(self) -> str:
        """The link as JSON (`to_doc`)."""
        return json.dumps(self.to_doc(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ChainLink:
        """A link written by `to_json`."""
        doc = json.loads(text)
        return cls(**{**doc, "at": datetime.fromisoformat(doc["at"])})


def headline_input(inputs: Sequence[Mapping[str, Any]], direction: str | None) -> Mapping[str, Any]:
    """The figure that tells the story: the largest move in the alert's direction."""
    moves = [i for i in inputs if i.get("metric") in _MOVES and i.get("value") is not None]
    if not moves:
        return inputs[0] if inputs else {}
    sign = 1.0 if direction == "up" else -1.0
    return max(moves, key=lambda item: sign * float(item["value"]))


def escalates(link: ChainLink, chain: Sequence[ChainLink]) -> bool:
    """True when the day has no link of the same preset at this tier or above (a preset
    that stays fired at every bar is one link, plus one per escalation)."""
    return all(other.rank < link.rank for other in chain if other.rule_id == link.rule_id)


def link_of(
    rule: Rule,
    payload: Mapping[str, Any],
    at: datetime,
    severity: tuple[str, int],
    book: MarketBook,
    kind: str = "",
) -> ChainLink:
    """The chain link of one firing (its payload's inputs and direction; `kind`: the
    default market's print, the stage of a link on it)."""
    market = book.rule_market(rule)
    item = headline_input(list(payload.get("inputs", [])), payload.get("direction"))
    value = item.get("value")
    label = str(item.get("label", rule.lead_label))
    if item.get("proxy"):  # a stand-in printed it: named as such
        label = f"{label} ({item.get('symbol')})"
    session = book.default.reference_session(at)
    return ChainLink(
        at=at,
        rule_id=rule.id,
        severity=severity[0],
        rank=severity[1],
        market=market.name,
        zone=market.zone,
        label=label,
        value=None if value is None else float(value),
        early=at < book.default.open_of(session),
        market_label=market.label or market.name,
        stage=str(payload.get("stage", "")) if market is not book.default else kind,
    )


def chain_for(links: Sequence[ChainLink], at: datetime) -> dict[str, Any] | None:
    """What an alert at `at` says of the day's chain: its first warning (an early link
    before it) and the earlier links, time-ordered, at most `CHAIN_LINES`; None when
    nothing warned before it."""
    earlier = sorted((link for link in links if link.at < at), key=lambda x: (x.at, x.rule_id))
    first = next((link for link in earlier if link.early), None)
    if first is None:
        return None
    return {
        "first": first.to_doc(),
        "earlier": [link.to_doc() for link in earlier[-CHAIN_LINES:]],
        "count": len(earlier),
    }


def watching_presets(rule: Rule, presets: Mapping[str, Rule], book: MarketBook) -> list[Rule]:
    """The default market's presets that watch the same story at its open: those sharing
    the most topics with `rule` (at most two), each reading only the default market."""
    topics = set(rule.topics)
    ranked = []
    for other in presets.values():
        if other.id == rule.id or book.rule_market(other) is not book.default:
            continue
        shared = len(topics & set(other.topics))
        if shared and "regular" in other.sessions and other.direction == rule.direction:
            ranked.append((-shared, list(presets).index(other.id), other))
    return [other for *_, other in sorted(ranked, key=lambda r: (r[0], r[1]))[:2]]


def watched_labels(rule: Rule) -> list[str]:
    """The instruments a rule reads, as their labels (each once, in order)."""
    return list(dict.fromkeys(ref.instrument.label for ref in metric_refs(rule.tree)))


def exposed_names(
    market: MarketData,
    symbol: str,
    candidates: Sequence[tuple[str, str]],
    *,
    top: int = 3,
    minimum: int = 60,
) -> list[tuple[str, float]]:
    """The candidates (label, Yahoo symbol) whose daily move in the New York session that
    followed correlated most with `symbol`'s session move, over the shipped history (at
    least `minimum` paired sessions; strongest first)."""
    source = market.table(symbol)
    if source is None:
        return []
    overseas = source.frame["pct"].dropna()
    found = []
    for label, candidate in candidates:
        table = market.table(candidate)
        if table is None:
            continue
        us = table.frame["pct"].dropna()
        # each overseas session leads into the first New York session on or after its date
        position = us.index.searchsorted(overseas.index, side="left")
        ok = position < len(us)
        paired = pd.DataFrame(
            {"a": overseas.to_numpy()[ok], "b": us.to_numpy()[position[ok]]}
        ).dropna()
        if len(paired) < minimum:
            continue
        rho = float(np.corrcoef(paired["a"], paired["b"])[0, 1])
        if np.isfinite(rho):
            found.append((label, round(rho, 2)))
    return sorted(found, key=lambda item: -item[1])[:top]


def outlook(
    rule: Rule,
    at: datetime,
    presets: Mapping[str, Rule],
    book: MarketBook,
    exposed: Sequence[tuple[str, float]],
) -> dict[str, Any]:
    """What an early warning means for the default market: when it opens, which presets
    watch what at its open, and the names most exposed (by correlation)."""
    session = book.default.reference_session(at)
    opens = book.default.open_of(session)
    return {
        "market": book.default.label or book.default.name,
        "opens_at": opens.isoformat(),
        "minutes": int((opens - at).total_seconds() // 60),
        "watches": [
            {"rule": other.id, "labels": watched_labels(other)}
            for other in watching_presets(rule, presets, book)
        ],
        "exposed": [{"label": label, "rho": rho} for label, rho in exposed],
    }
