"""The rule book and the print tick: which compiled rules read which symbol, and one print.

`PrintTick` is one print (pre-market, open, intraday, close, post) as the evaluator sees it;
`RuleBook` holds the compiled presets and custom rules, indexed by the Yahoo symbols they
read, and decides when the store's custom rules are re-read and false rules re-armed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.model import PrintKind, Subscription, print_id
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.parser import RuleError, metric_refs
from bot.domain.rules.presets import Rule, custom_rule
from bot.domain.snapshot import Quote, Snapshot
from bot.domain.symbols import SymbolBook
from bot.ports import FeedTick

log = logging.getLogger(__name__)


_MARKET_SESSION: Mapping[str, str] = {
    "pre": "pre",
    "open": "regular",
    "intraday": "regular",
    "close": "regular",
    "post": "post",
}


@dataclass(frozen=True)
class PrintTick:
    """One print: the market as of it, its kind, and which symbols moved or went stale."""

    snapshot: Snapshot
    kind: PrintKind
    changed: frozenset[str]
    """Yahoo symbols whose price changed with this print."""
    expires_at: datetime | None = None
    """When an undelivered alert of this print goes stale (default: the next NYSE open)."""
    stale: frozenset[str] = frozenset()
    """Symbols whose quote is older than its staleness limit: rules reading them are skipped."""
    printed_at: datetime | None = None
    """When the market printed what changed (default: the snapshot's moment); a check that
    reads the 16:00 close at 16:10 fires "at 16:00"."""

    @property
    def at(self) -> datetime:
        """The print's own time: what an alert says it fired at."""
        return self.printed_at or self.snapshot.moment

    @classmethod
    def from_history(cls, snapshot: Snapshot, stage: str) -> PrintTick:
        """A print of the shipped history (an open or a close), every symbol changed."""
        kind: PrintKind = "open" if stage == "open" else "close"
        return cls(snapshot, kind, frozenset(snapshot.quotes))

    @classmethod
    def from_feed(cls, tick: FeedTick) -> PrintTick:
        """A live join's tick, printed when the newest of its changed quotes printed."""
        times = [q.as_of for q in map(tick.snapshot.quote, tick.changed) if isinstance(q, Quote)]
        printed_at = min(max(times), tick.snapshot.moment) if times else None
        return cls(tick.snapshot, tick.kind, tick.changed, tick.expires_at, tick.stale, printed_at)

    @property
    def market_session(self) -> str:
        """`pre`, `regular` or `post`: what a preset's `sessions` is compared with."""
        return _MARKET_SESSION[self.kind]

    @property
    def id(self) -> str:
        """The print's identity (time and kind)."""
        return print_id(self.at, self.kind)


@dataclass
class RuleBook:
    """Compiled rules by id, and which rules read each Yahoo symbol (own series or proxy).

    Custom rules are compiled once per expression and kept. The book re-reads the store's
    custom-rule subscriptions at a print once `refresh_seconds` (real time) have passed since
    the last read — 0, the default, re-reads at every print; the live runner reads every few
    seconds, so a new subscription is evaluated within that. By the same period, a rule
    that stays false re-arms its channels once per `refresh_seconds`, not at every print
    (another instance may have fired it meanwhile, so the re-arm is repeated, not skipped
    for good).
    """

    symbols: SymbolBook
    presets: Sequence[Rule]
    refresh_seconds: float = 0.0
    real_time: Callable[[], float] = time.monotonic
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    """Symbol → the one standing in for it outside the session (`^SOX` → `SMH` in a replay
    of 2025-01-27): outside the session, a rule reading the symbol reads the stand-in's."""
    _compiled: dict[str, tuple[Rule, CompiledRules]] = field(default_factory=dict)
    _by_symbol: dict[str, set[str]] = field(default_factory=dict)
    _by_stand_in: dict[str, set[str]] = field(default_factory=dict)
    _custom_text: dict[str, str] = field(default_factory=dict)
    _custom: list[Subscription] = field(default_factory=list)
    _read_at: float | None = None
    _rearmed_at: dict[str, float] = field(default_factory=dict)

    def custom_due(self) -> bool:
        """True when the custom-rule subscriptions should be read from the store again."""
        return self._read_at is None or self.real_time() - self._read_at >= self.refresh_seconds

    @property
    def custom(self) -> list[Subscription]:
        """The custom-rule subscriptions last read."""
        return self._custom

    def fired(self, rule_id: str) -> None:
        """The rule fired at this print: its next false verdict re-arms again."""
        self._rearmed_at.pop(rule_id, None)

    def should_rearm(self, rule_id: str) -> bool:
        """True when a false rule's channels need re-arming (then recorded as done)."""
        now = self.real_time()
        last = self._rearmed_at.get(rule_id)
        if last is not None and self.refresh_seconds > 0 and now - last < self.refresh_seconds:
            return False
        self._rearmed_at[rule_id] = now
        return True

    def __post_init__(self) -> None:
        self._preset_order = {rule.id: index for index, rule in enumerate(self.presets)}
        for rule in self.presets:
            self._add(rule)

    def _add(self, rule: Rule) -> None:
        self._compiled[rule.id] = (rule, CompiledRules([rule]))
        for symbol in _symbols_read(rule):
            self._by_symbol.setdefault(symbol, set()).add(rule.id)
            helper = self.stand_ins.get(symbol)
            if helper is not None:
                self._by_stand_in.setdefault(helper, set()).add(rule.id)

    def _remove(self, rule_id: str) -> None:
        self._compiled.pop(rule_id, None)
        self._custom_text.pop(rule_id, None)
        for ids in (*self._by_symbol.values(), *self._by_stand_in.values()):
            ids.discard(rule_id)

    def sync_custom(self, subscriptions: Iterable[Subscription]) -> None:
        """Make the custom rules exactly those of `subscriptions` (compiling new ones)."""
        self._custom = list(subscriptions)
        self._read_at = self.real_time()
        wanted = {s.rule_id: s.expression for s in self._custom if s.expression}
        for rule_id in [r for r in self._custom_text if r not in wanted]:
            self._remove(rule_id)
        for rule_id, text in wanted.items():
            if text is None or self._custom_text.get(rule_id) == text:
                continue
            try:
                rule = custom_rule(text, self.symbols, rule_id)
            except RuleError as exc:
                log.warning("custom rule %r no longer parses (%s); skipped", rule_id[:60], exc)
                continue
            self._remove(rule_id)
            self._add(rule)
            self._custom_text[rule_id] = text

    def rule(self, rule_id: str) -> Rule | None:
        """The compiled rule of that id (a preset or a custom rule), if the book has it."""
        found = self._compiled.get(rule_id)
        return found[0] if found else None

    def reading(
        self, changed: Iterable[str], *, outside_session: bool = False
    ) -> list[tuple[Rule, CompiledRules]]:
        """The rules that read any of `changed` (outside the session, through a stand-in
        too), presets first in config order."""
        ids: set[str] = set()
        for symbol in changed:
            ids |= self._by_symbol.get(symbol, set())
            if outside_session:
                ids |= self._by_stand_in.get(symbol, set())
        order = self._preset_order
        chosen = sorted(ids, key=lambda rule_id: (order.get(rule_id, len(order)), rule_id))
        return [self._compiled[rule_id] for rule_id in chosen if rule_id in self._compiled]


def _symbols_read(rule: Rule) -> set[str]:
    """The Yahoo symbols a rule reads: each instrument's own series and its proxy."""
    found: set[str] = set()
    for ref in metric_refs(rule.tree):
        found.add(ref.instrument.symbol)
        if ref.instrument.proxy:
            found.add(ref.instrument.proxy)
    return found
