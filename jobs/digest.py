"""Daily digests: at each subscription's local time, a summary of the last US session.

The job runs every minute (one instance, by the scheduler's claim). For each digest
subscription it finds the latest `HH:MM` slot in the subscription's zone (a zoned
`CronTrigger`); the slot is queued only if an NYSE session closed since the previous
digest (`store.last_digest`), so a restart neither repeats nor skips one; a replay queues
only the replayed session's digest. A slot missed
by less than `grace_minutes` is sent once, late, and says so; an older one is dropped.
The payload is language-neutral figures; `bot.domain.digest_card` renders it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from bot.domain.library import library_of
from bot.domain.markets import primary_market
from bot.domain.model import AlertEvent, Subscription
from bot.domain.price_metrics import Unavailable
from bot.domain.snapshot import Snapshot
from bot.domain.symbols import UnknownSymbolError
from bot.ports import ReplayClock
from bot.services import Services
from bot.settings import DigestSettings
from jobs.news import digest_news
from jobs.past import past_at_print
from jobs.scheduler import daily_at

log = logging.getLogger(__name__)

SessionSnapshot = Callable[[pd.Timestamp], Snapshot]
"""The market as it stood at a session's close (live: shipped + backfilled history)."""


@dataclass(frozen=True)
class DigestOutcome:
    """What the job did for one subscription at one slot."""

    channel: str
    slot: datetime | None
    outcome: str
    """"queued", "queued late", "already sent", "no session closed", "missed", "not due",
    "not the replayed session"."""


def latest_slot(subscription: Subscription, now: datetime, settings: DigestSettings) -> datetime:
    """The latest digest time of the subscription at or before `now` (UTC)."""
    hour, minute = (subscription.digest_time or settings.default_time).split(":")
    zone = subscription.digest_zone or settings.default_zone
    trigger = daily_at(int(hour), int(minute), zone, day_of_week="*")
    slot = trigger.get_next_fire_time(None, now - timedelta(days=1, minutes=1))
    latest = slot
    while slot is not None and slot <= now:
        latest = slot
        slot = trigger.get_next_fire_time(slot, slot)
    return pd.Timestamp(latest).tz_convert("UTC").to_pydatetime()


async def run_digests(
    services: Services,
    now: datetime,
    settings: DigestSettings,
    *,
    session_snapshot: SessionSnapshot | None = None,
    replay_of: str | None = None,
    platforms: Collection[str] | None = None,
) -> list[DigestOutcome]:
    """Queue every digest whose slot has come (see the module docstring); `platforms`, if
    given, limits it to channels on those platforms (a replay: its sinks' only)."""
    store = services.store
    outcomes: list[DigestOutcome] = []
    closed = primary_market().last_closed_session(now)
    headlines: dict[str, Any] = {}  # fetched once per run, for the first digest that needs them
    for subscription in await store.recipients("digest", kind="digest", now=now):
        if platforms is not None and subscription.channel.platform not in platforms:
            continue
        key = subscription.channel.key
        slot = latest_slot(subscription, now, settings)
        previous = await store.last_digest(subscription)
        if previous is not None and previous >= slot:
            continue  # this slot (or a later one) is done
        if closed is None or (previous is not None and closed[1] <= previous):
            outcomes.append(DigestOutcome(key, slot, "no session closed"))
            continue
        if closed[1] > slot:
            continue  # the session closed after this slot: the next slot covers it
        if replay_of is not None and closed[0].date().isoformat() != replay_of:
            # A replay starts at the previous close: that session's digest is not its own.
            outcomes.append(DigestOutcome(key, slot, "not the replayed session"))
            continue
        late = (now - slot).total_seconds()
        clock = services.clock
        if isinstance(clock, ReplayClock) and slot >= clock.virtual_start:
            # A replay's slot: its loop lag (virtual minutes at a high speed) is not lateness.
            late /= clock.speed
        if late > settings.grace_minutes * 60:
            outcomes.append(DigestOutcome(key, slot, "missed"))
            continue
        snapshot = (session_snapshot or _shipped(services))(closed[0])
        payload = await digest_payload(
            services, subscription, snapshot, closed[0], slot, late, settings, replay_of
        )
        if replay_of is None:  # a replay shows no news: there is no archive to draw from
            if "news" not in headlines:
                # The chips and the Dow first (the shock's pair), then the biggest movers.
                movers = [f["label"] for f in payload["movers"]]
                labels = ["SOX", "DJI", *movers, *primary_market().benchmarks]
                headlines["news"] = await digest_news(services, labels, closed[1], now)
            if headlines["news"] is not None:
                payload["news"] = headlines["news"]
        idempotency = f"digest:{key}:{slot.isoformat()}"
        await store.enqueue_message("digest", subscription.channel, payload, idempotency)
        await store.record_digest(subscription, slot)
        outcome = "queued late" if late >= 60 else "queued"
        log.info("digest %s channel=%s slot=%s", outcome.replace(" ", "_"), key, slot.isoformat())
        outcomes.append(DigestOutcome(key, slot, outcome))
    return outcomes


def _shipped(services: Services) -> SessionSnapshot:
    return lambda session: services.core.market.snapshot(session, "close")


def _figure(snapshot: Snapshot, services: Services, name: str) -> dict[str, Any] | None:
    try:
        instrument = services.core.market.symbols.resolve(name)
    except UnknownSymbolError:
        return None
    pct = snapshot.read(instrument, "pct")
    last = snapshot.read(instrument, "last")
    return {
        "label": instrument.label,
        "symbol": pct.symbol,
        "via_proxy": pct.via_proxy,
        "pct": pct.number,
        "last": last.number,
        "reason": str(pct.value) if isinstance(pct.value, Unavailable) else None,
    }


async def fired_entries(
    services: Services, subscription: Subscription, events: Sequence[AlertEvent]
) -> list[dict[str, Any]]:
    """The day's alerts as the digest lists them: rule id, tier, time, and the rule's text and
    saved name where it has them (shown instead of the id)."""
    saved = await services.store.saved_rules(subscription.channel)
    names = {text: name for name, text in saved.items()}
    entries = []
    for event in events:
        expression = event.payload.get("expression")
        entries.append(
            {
                "rule_id": event.rule_id,
                "severity": event.severity,
                "fired_at": event.fired_at.isoformat(),
                "expression": expression,
                "name": names.get(expression) if isinstance(expression, str) else None,
            }
        )
    return entries


async def digest_payload(
    services: Services,
    subscription: Subscription,
    snapshot: Snapshot,
    session: pd.Timestamp,
    slot: datetime,
    late_seconds: float,
    settings: DigestSettings,
    replay_of: str | None = None,
) -> dict[str, Any]:
    """The digest's figures, JSON-serialisable and language-neutral."""
    names = primary_market().benchmarks
    benchmarks = [f for f in (_figure(snapshot, services, n) for n in names) if f]
    channel = await services.store.get_channel(subscription.channel)
    watched = services.core.watchlist(channel.watchlist if channel is not None else None)
    movers = [
        f
        for f in (_figure(snapshot, services, i.label) for i in watched)
        if f and f["pct"] is not None and f["label"] not in names
    ]
    movers.sort(key=lambda f: -abs(f["pct"]))
    history = await services.store.alert_history(subscription.channel, limit=50)
    events = sorted((e for e in history if e.session == session.date()), key=lambda e: e.fired_at)
    fired = await fired_entries(services, subscription, events)
    topics: list[str] = []
    for event in events:
        rule = services.core.presets.get(event.rule_id)
        topics += list(rule.topics) if rule else []
    if not topics:
        topics = list(services.core.settings.shock.topics)
    kinds = [event.rule_id for event in events]
    past = _past(services, snapshot, session, fired=bool(kinds))
    chain = await services.store.chain(session.date())  # the day's alerts, every market's
    return {
        "session": session.date().isoformat(),
        "slot": slot.isoformat(),
        "zone": subscription.digest_zone or settings.default_zone,
        "late_minutes": int(late_seconds // 60) if late_seconds >= 60 else 0,
        "benchmarks": benchmarks,
        "movers": movers[: settings.top_movers],
        "fired": fired,
        "chain": [link.to_doc() for link in chain] if any(link.early for link in chain) else [],
        "past": past,
        "kinds": kinds,
        "topics": topics,
        "chart": {"lead": "SOX", "session": session.date().isoformat()},
        "replay_of": replay_of,
    }


def _past(
    services: Services, snapshot: Snapshot, session: pd.Timestamp, *, fired: bool
) -> dict[str, Any] | None:
    """What the digest says of past episodes: always its session's own episode (decided when
    the card is built); the closest earlier one only when a rule fired that session."""
    library = library_of(services.views)
    if library.own_episode({session.date()}) is not None:
        return {}
    if not fired:
        return None
    return past_at_print(services, snapshot)


def digest_subscriptions_due(outcomes: Sequence[DigestOutcome]) -> int:
    """How many digests a run queued (for logs and metrics)."""
    return sum(1 for o in outcomes if o.outcome.startswith("queued"))
