"""Evaluate → claim: one print's snapshot through the rules that read what changed, into the outbox.

A print (pre-market, open, intraday, close, post) arrives as a `PrintTick`. Only the rules
that read a symbol whose price changed are evaluated: the presets, and the custom rules some
active channel subscribes to (the store lists them). Each fired rule becomes an `AlertEvent`
with the figures it read (proxies named) and is claimed per subscribed channel under the
trigger policies; a rule whose condition is false re-arms (`observe_false`); a rule whose
inputs are stale or missing neither fires nor re-arms. The tick and the rule book that picks
the rules it reads live in `jobs/rule_book.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from bot.domain.analysis import similar_sessions
from bot.domain.backtest import rule_thresholds
from bot.domain.chain import CHAIN_SUBSCRIPTION
from bot.domain.markets import markets, primary_market
from bot.domain.model import AlertEvent, ChannelRef, OutboxItem, Subscription
from bot.domain.price_metrics import Unavailable
from bot.domain.rules.evaluate import RuleOutcome
from bot.domain.rules.presets import Rule
from bot.domain.snapshot import Quote, Snapshot
from bot.domain.symbols import SymbolBook
from bot.ports.store import ChannelStore, Outbox
from bot.services import Services
from jobs.chain import in_chain, link_events
from jobs.enqueue import claim_with_retry, retry_store
from jobs.past import past_at_print
from jobs.rule_book import PrintTick, RuleBook

log = logging.getLogger(__name__)

EVENT_VERSION = 1


@dataclass(frozen=True)
class ClaimReport:
    """What one print did: rules evaluated, events fired, messages queued, rules re-armed."""

    evaluated: int = 0
    fired: tuple[AlertEvent, ...] = ()
    items: tuple[OutboxItem, ...] = ()
    rearmed: tuple[str, ...] = ()
    skipped_stale: tuple[str, ...] = ()


def _session_for(rule: Rule, tick: PrintTick, grace: timedelta) -> str:
    """The session a rule is judged in: its own market's phase at the print when every
    symbol it reads trades on one market besides the default one (Tokyo's rules in Tokyo's
    hours, its close print and closing check included); the tick's otherwise."""
    phase = markets().judged_phase(rule, tick.at, grace)
    return tick.market_session if phase is None else phase


def next_open_after(moment: datetime) -> datetime | None:
    """The primary market's next open strictly after `moment` (None past the calendar)."""
    return primary_market().next_open(moment)


def event_payload(
    outcome: RuleOutcome, rule: Rule, tick: PrintTick, symbols: SymbolBook
) -> dict[str, Any]:
    """The language-neutral figures of one firing (versioned JSON): the inputs the rule read
    (proxies named, with the thresholds they were compared against) and the lead symbol's,
    SOX's and the Dow's level and move at this print, for the alert's chart."""
    thresholds = rule_thresholds(rule.tree)
    inputs = []
    for item in outcome.inputs:
        value = item.value
        inputs.append(
            {
                "label": item.instrument.label,
                "metric": item.metric,
                "symbol": item.symbol,
                "index_symbol": item.instrument.symbol,
                "proxy": item.via_proxy,
                "value": None if isinstance(value, Unavailable) else round(float(value), 6),
                "thresholds": list(thresholds.get(f"{item.instrument.label}.{item.metric}", ())),
            }
        )
    payload: dict[str, Any] = {
        "v": EVENT_VERSION,
        "inputs": inputs,
        "magnitude": None if outcome.magnitude is None else round(outcome.magnitude, 6),
        "lead": rule.lead_label,
        "direction": rule.direction or _direction_of(inputs),
        "market_session": tick.market_session,
        "print_at": tick.snapshot.moment.isoformat(),
    }
    own = markets().rule_market(rule)
    if own is not markets().default:  # its print is that market's (Tokyo's close), not New York's
        payload["market"] = own.name
        stage = own.stage_at(tick.at)
        payload.update({"stage": stage} if stage else {})
    if not rule.description_en:  # a custom rule: its text is its title
        payload["expression"] = rule.text
    labels = [rule.lead_label, *primary_market().chart_benchmarks]
    payload["chart"] = chart_points(tick.snapshot, labels, symbols)
    return payload


_MOVES = ("pct", "gap", "intraday", "pct5", "pct20")


def _direction_of(inputs: Sequence[Mapping[str, Any]]) -> str | None:
    """A custom rule's direction: the sign of the first move it read (None if none)."""
    for item in inputs:
        value = item.get("value")
        if item.get("metric") in _MOVES and isinstance(value, int | float) and value:
            return "up" if value > 0 else "down"
    return None


def chart_points(
    snapshot: Snapshot, labels: Sequence[str], symbols: SymbolBook
) -> dict[str, dict[str, float | None]]:
    """Each series' level and move at the print (own symbol and proxy), keyed by Yahoo symbol."""
    points: dict[str, dict[str, float | None]] = {}
    for label in labels:
        try:
            instrument = symbols.resolve(label)
        except Exception:
            continue
        for symbol in (instrument.symbol, instrument.proxy):
            quote = snapshot.quote(symbol) if symbol else None
            if symbol is None or not isinstance(quote, Quote) or quote.last is None:
                continue
            move = quote.metric("pct")
            points[symbol] = {
                "last": float(quote.last),
                "pct": None if isinstance(move, Unavailable) else round(float(move), 6),
            }
    return points


def similar_rows(
    services: Services, rule: Rule, session: pd.Timestamp
) -> list[dict[str, Any]] | None:
    """The three most similar past sessions for the rule's lead symbol (None: not computable)."""
    market = services.core.market
    try:
        lead = market.symbols.resolve(rule.lead_label)
    except Exception:
        return None
    symbol = lead.symbol if market.has(lead.symbol) else lead.proxy
    if symbol is None or session not in market.sessions(symbol):
        return None
    rows = []
    for day in similar_sessions(market, lead, session):
        rows.append(
            {
                "date": day.date.date().isoformat(),
                "moves": {name: round(value, 4) for name, value in day.moves.items()},
                "forward": {
                    str(h): None if v is None else round(v, 4) for h, v in day.forward.items()
                },
            }
        )
    return rows


def _stale_inputs(outcome: RuleOutcome, stale: frozenset[str]) -> bool:
    return any(item.symbol in stale for item in outcome.inputs)


async def _recipients(store: ChannelStore, rule_id: str, moment: datetime) -> list[Subscription]:
    return await retry_store(
        lambda: store.recipients(rule_id, now=moment), f"recipients of {rule_id}"
    )


async def _rearm(
    store: Outbox, rule_id: str, channels: Sequence[ChannelRef], moment: datetime
) -> None:
    await retry_store(lambda: store.observe_false(rule_id, channels, moment), f"re-arm {rule_id}")


@dataclass(frozen=True)
class PrintOutcome:
    """The engine's verdict on one print: fired events, rules now false, rules skipped."""

    fired: tuple[AlertEvent, ...]
    false_rules: tuple[str, ...]
    skipped_stale: tuple[str, ...]
    evaluated: int


def evaluate_print(services: Services, tick: PrintTick, book: RuleBook) -> PrintOutcome:
    """Evaluate the rules of `book` that read a changed symbol (no store access)."""
    expires = tick.expires_at or next_open_after(tick.snapshot.moment)
    fired: list[AlertEvent] = []
    false_rules: list[str] = []
    skipped: list[str] = []
    evaluated = 0
    grace = timedelta(minutes=services.core.settings.scheduler.closing_check_delay_minutes)
    outside = tick.market_session != "regular"
    for rule, compiled in book.reading(tick.changed, outside_session=outside):
        if _session_for(rule, tick, grace) not in rule.sessions:
            continue
        outcome = compiled.evaluate(tick.snapshot)[0]
        evaluated += 1
        if _stale_inputs(outcome, tick.stale):
            skipped.append(rule.id)
            continue
        if outcome.truth is None:
            continue
        if outcome.truth is False:
            false_rules.append(rule.id)
            continue
        assert outcome.tier is not None
        payload = event_payload(outcome, rule, tick, services.core.market.symbols)
        # Similar sessions compare closes: only a close print knows the session's own.
        similar = (
            similar_rows(services, rule, tick.snapshot.session) if tick.kind == "close" else None
        )
        if similar is not None:
            payload["similar"] = similar
        payload["past"] = past_at_print(services, tick.snapshot)
        fired.append(
            AlertEvent(
                rule_id=rule.id,
                session=tick.snapshot.session.date(),
                severity_rank=outcome.tier.rank,
                severity=outcome.tier.name,
                fired_at=tick.at,
                payload=payload,
                print_id=tick.id,
                print_kind=tick.kind,
                expires_at=expires,
            )
        )
    return PrintOutcome(tuple(fired), tuple(false_rules), tuple(skipped), evaluated)


async def _with_news(
    services: Services, claims: list[tuple[Subscription, AlertEvent]], tick: PrintTick
) -> list[tuple[Subscription, AlertEvent]]:
    """The claims with their events' headlines attached (fetched once per event)."""
    from jobs.news import attach_news

    events = list({event.alert_id: event for _, event in claims}.values())
    try:
        enriched = {e.alert_id: e for e in await attach_news(services, events, tick.at)}
    except Exception:  # a bug in the news path never costs an alert
        log.exception("headlines failed for print=%s; the alerts go out without them", tick.id)
        return claims
    return [(subscription, enriched[event.alert_id]) for subscription, event in claims]


async def evaluate_and_claim(
    services: Services,
    tick: PrintTick,
    *,
    book: RuleBook | None = None,
    now: datetime | None = None,
    platforms: Collection[str] | None = None,
    news: bool = False,
) -> ClaimReport:
    """Evaluate the rules that read what changed, claim the firings, re-arm the false ones.

    `book` keeps compiled custom rules across prints (the live runner holds one); `now` is
    the trading time of the claim (default: the services' clock); `platforms`, if given,
    limits claims and re-arms to channels on those platforms (a replay: its sinks' only).
    `news` (live prints only): the fired events that go to a channel carry the headlines and
    syntheses fetched for them within the news budget (`jobs/news.py`), stored with them.
    """
    store = services.store
    moment = now or services.clock.now()
    rules = book or RuleBook(services.core.market.symbols, list(services.core.presets.values()))
    if rules.custom_due():
        rules.sync_custom(await retry_store(lambda: store.custom_rules(moment), "custom rules"))
    custom = rules.custom
    custom_by_rule: dict[str, list[Subscription]] = {}
    for subscription in custom:
        custom_by_rule.setdefault(subscription.rule_id, []).append(subscription)
    verdict = evaluate_print(services, tick, rules)

    async def recipients_of(rule_id: str) -> list[Subscription]:
        found = custom_by_rule.get(rule_id)
        if found is None:
            found = await _recipients(store, rule_id, moment)
        if platforms is None:
            return found
        return [s for s in found if s.channel.platform in platforms]

    rearmed: list[str] = []
    for event in verdict.fired:
        rules.fired(event.rule_id)
    for rule_id in verdict.false_rules:
        if not rules.should_rearm(rule_id):
            continue  # re-armed moments ago and false since
        recipients = await recipients_of(rule_id)
        if recipients:
            await _rearm(store, rule_id, [s.channel for s in recipients], moment)
            rearmed.append(rule_id)
    # the day's chain first (in the store, shared by every instance), then the claims: a
    # channel on the whole chain gets each of its alerts under the alert's own trigger state
    linked = await link_events(services, verdict.fired, rules.rule)
    claims: list[tuple[Subscription, AlertEvent]] = []
    chained = await recipients_of(CHAIN_SUBSCRIPTION) if any(map(in_chain, linked)) else []
    for event in linked:
        claims += [(subscription, event) for subscription in await recipients_of(event.rule_id)]
        if in_chain(event):
            claims += [(replace(s, rule_id=event.rule_id), event) for s in chained]
    if news and claims:
        claims = await _with_news(services, claims, tick)
    items = await claim_with_retry(store, claims, moment) if claims else []
    fired = linked
    if fired:
        log.info(
            "print=%s fired=%s queued=%d",
            tick.id,
            ",".join(f"{e.rule_id}[{e.severity}]" for e in fired),
            len(items),
        )
    return ClaimReport(
        verdict.evaluated, fired, tuple(items), tuple(rearmed), verdict.skipped_stale
    )
