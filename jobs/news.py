"""Headlines and the synthesis for live alerts and digests, fetched once and stored with them.

When rules fire live, `attach_news` asks the news desk once for the symbols every fired event
reads, within the budget (`[news] budget_seconds` after the print, real time), keeps per event
the few published in the lookback window before the print, and — when a synthesis model is
configured — asks it for two sentences per event and language from that event's headlines and
views, checked by `bot.domain.synthesis.check_synthesis`. What is stored with the event is all
any channel or resend will ever show. Replays never call it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.alert_card import figures_text
from bot.domain.i18n import Locale
from bot.domain.library import library_of
from bot.domain.model import AlertEvent
from bot.domain.news import Headline, NewsSubject, news_payload, select_headlines
from bot.domain.symbols import UnknownSymbolError
from bot.domain.synthesis import (
    check_synthesis,
    synthesis_doc,
    synthesis_messages,
    synthesis_sources,
)
from bot.domain.view_section import past_from_payload
from bot.domain.views import ExpertView
from bot.ports import NewsDesk
from bot.services import Services

log = logging.getLogger(__name__)


def subjects_of(services: Services, desk: NewsDesk, labels: Sequence[str]) -> list[NewsSubject]:
    """The news subjects for aliases or symbols (unknown ones skipped), each symbol once."""
    subjects: dict[str, NewsSubject] = {}
    for label in labels:
        try:
            instrument = services.core.market.symbols.resolve(label)
        except UnknownSymbolError:
            continue
        subjects.setdefault(instrument.symbol, desk.subject(instrument))
    return list(subjects.values())


def event_labels(event: AlertEvent) -> list[str]:
    """The symbols on an alert's card: its lead, then every input it read."""
    labels = [str(event.payload.get("lead") or "")]
    for item in event.payload.get("inputs", ()):
        if isinstance(item, Mapping):
            labels.append(str(item.get("label") or ""))
    return [label for label in dict.fromkeys(labels) if label]


def event_views(services: Services, event: AlertEvent) -> list[ExpertView]:
    """The views the card of this alert shows (its session's own episode's, else the closest
    earlier episode's stored with it): one bullish, one bearish where the library has them."""
    rule = services.core.presets.get(event.rule_id)
    lead = str(event.payload.get("lead") or "")
    stored = event.payload.get("past")
    past = past_from_payload(
        library_of(services.views),
        stored if isinstance(stored, Mapping) else None,
        session=event.session,
        kinds=[event.rule_id],
        topics=set(rule.topics) if rule is not None else set(),
        symbols=[lead] if lead else [],
    )
    if past is None or past.views is None:
        return []
    return [match.view for match in past.views.chosen]


async def _synthesis(
    desk: NewsDesk,
    event: AlertEvent,
    headlines: Sequence[Headline],
    views: Sequence[ExpertView],
    locale: Locale,
    deadline: float,
) -> dict[str, Any] | None:
    """One checked synthesis for one event and language, or None (the reason logged)."""
    sources = synthesis_sources(headlines, views, locale)
    figures = f"{figures_text(event, locale)} ({event.session.isoformat()})"
    try:
        answer = await desk.complete(
            synthesis_messages(sources, figures, locale), deadline=deadline
        )
    except Exception as exc:  # SummaryError, or anything the adapter let through
        log.warning("synthesis dropped rule=%s lang=%s: %s", event.rule_id, locale, exc)
        return None
    verdict = check_synthesis(answer, sources, figures, locale)
    if not verdict.ok:
        log.warning("synthesis dropped rule=%s lang=%s: %s", event.rule_id, locale, verdict.reason)
        return None
    return synthesis_doc(answer, sources, desk.summary.model)


async def attach_news(
    services: Services, events: Sequence[AlertEvent], printed_at: datetime
) -> tuple[AlertEvent, ...]:
    """The events with their headlines (and checked syntheses) in their payloads, all within
    one budget; the events unchanged when news is off."""
    desk = services.news
    if desk is None or not desk.settings.enabled or not events:
        return tuple(events)
    settings = desk.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.budget_seconds
    summarize = desk.summarizing
    reserve = min(desk.summary.reserve_seconds, settings.budget_seconds / 2) if summarize else 0.0
    subjects = {
        event.alert_id: subjects_of(services, desk, event_labels(event)) for event in events
    }
    symbols = [s.symbol for found in subjects.values() for s in found]
    pool = await desk.gather(symbols, deadline=deadline - reserve)
    fetched_at = services.clock.now()
    since = printed_at - timedelta(hours=settings.lookback_hours)
    chosen = {
        event.alert_id: select_headlines(
            pool.items,
            subjects[event.alert_id],
            before=printed_at,
            since=since,
            limit=settings.max_items,
        )
        for event in events
    }
    syntheses: dict[str, dict[str, Any]] = {}
    if summarize:
        jobs = []
        for event in events:
            views = event_views(services, event)
            if not views and not chosen[event.alert_id]:
                continue
            for language in desk.summary.languages:
                locale: Locale = "ko" if language == "ko" else "en"
                jobs.append(
                    (
                        event.alert_id,
                        locale,
                        _synthesis(desk, event, chosen[event.alert_id], views, locale, deadline),
                    )
                )
        answers = await asyncio.gather(*(job for _, _, job in jobs))
        for (alert_id, locale, _), doc in zip(jobs, answers, strict=True):
            if doc is not None:
                syntheses.setdefault(alert_id, {})[locale] = doc
    enriched = []
    for event in events:
        payload = dict(event.payload)
        payload["news"] = news_payload(chosen[event.alert_id], fetched_at)
        if event.alert_id in syntheses:
            payload["summary"] = syntheses[event.alert_id]
        enriched.append(replace(event, payload=payload))
    log.info(
        "news for print=%s: %s headline(s), %d synthesis(es)",
        events[0].print_id,
        "/".join(str(len(chosen[e.alert_id])) for e in events),
        sum(len(docs) for docs in syntheses.values()),
    )
    return tuple(enriched)


async def digest_news(
    services: Services, labels: Sequence[str], since: datetime, until: datetime
) -> dict[str, Any] | None:
    """The digest's headlines (stored in its payload): the most recent relevant ones about
    `labels` published between the last close and the digest (None when news is off)."""
    desk = services.news
    if desk is None or not desk.settings.enabled:
        return None
    subjects = subjects_of(services, desk, labels)
    found = await desk.headlines(subjects, before=until, since=since, limit=desk.settings.max_items)
    return news_payload(found.items, services.clock.now())
