"""Link a print's alerts into the trading day's early-warning chain (kept in the store).

Each fired event becomes a link of its trading day (the default market's session the print
is watched for), stored before it is claimed, so every instance reads the same chain. The
event's payload then carries what its card shows: the day's first warning and earlier
alerts (`chain`), and, for an alert before the default market's open, what it means there
(`outlook`: when it opens, the presets that watch the same story, the names most exposed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.domain.chain import ChainLink, chain_for, escalates, exposed_names, link_of, outlook
from bot.domain.markets import markets
from bot.domain.model import AlertEvent
from bot.domain.rules.presets import Rule
from bot.services import Services
from jobs.enqueue import retry_store


def exposed_candidates(services: Services) -> list[tuple[str, str]]:
    """`[chain] exposed` as (label, Yahoo symbol), the ones the symbol book knows."""
    found = []
    for name in services.core.settings.chain.exposed:
        try:
            instrument = services.core.market.symbols.resolve(name)
        except Exception:
            continue
        found.append((instrument.label, instrument.symbol))
    return found


def in_chain(event: AlertEvent) -> bool:
    """True for an alert of a day with an early warning: an early one, or one after it."""
    return bool(event.payload.get("outlook") or event.payload.get("chain"))


async def link_events(
    services: Services, events: Sequence[AlertEvent], rule_of: Callable[[str], Rule | None]
) -> tuple[AlertEvent, ...]:
    """Store the events' links in their day's chain; the events with `chain` and `outlook`
    in their payloads."""
    if not events:
        return ()
    store, book, presets = services.store, markets(), services.core.presets
    settings = services.core.settings.chain
    links: dict[str, ChainLink] = {}
    for event in events:
        rule = rule_of(event.rule_id)
        if rule is not None:
            tier = (event.severity, event.severity_rank)
            links[event.alert_id] = link_of(
                rule, event.payload, event.fired_at, tier, book, event.print_kind
            )
    day = events[0].session
    before = await retry_store(lambda: store.chain(day), f"chain of {day}")
    found = [link for link in links.values() if escalates(link, before)]
    if found:
        await retry_store(lambda: store.add_chain(day, found), f"chain of {day}")
    chain = await retry_store(lambda: store.chain(day), f"chain of {day}") if found else before
    linked = []
    for event in events:
        payload: dict[str, Any] = dict(event.payload)
        earlier = chain_for(chain, event.fired_at)
        if earlier is not None:
            payload["chain"] = earlier
        link, rule = links.get(event.alert_id), rule_of(event.rule_id)
        if link is not None and link.early and rule is not None:
            symbol = _headline_symbol(event, link)
            exposed = exposed_names(
                services.core.market,
                symbol,
                [c for c in exposed_candidates(services) if c[1] != symbol],
                top=settings.exposed_top,
                minimum=settings.min_sessions,
            )
            payload["outlook"] = outlook(rule, event.fired_at, presets, book, exposed)
        linked.append(replace(event, payload=payload))
    return tuple(linked)


def _headline_symbol(event: AlertEvent, link: ChainLink) -> str:
    for item in event.payload.get("inputs", []):
        if item.get("label") == link.label:
            return str(item.get("index_symbol") or item.get("symbol"))
    return link.label
