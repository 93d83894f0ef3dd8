"""Outbox item → Card for one channel, at delivery: alerts, digests and notices.

Alert items name their group's events; the events are read once from the store and the
Card is built for the channel's language and time zone. The lead symbol's chart is
rendered once per (print, lead symbol, language) and stored, so a group going to 10,000
channels renders two charts (one per language), not 10,000. Chart rendering runs off the
event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pandas as pd

from bot.domain.alert_card import AlertContext, build_alert_card, lead_of
from bot.domain.analysis import chart_series
from bot.domain.cards import Card, Severity
from bot.domain.chart import render_shock_chart
from bot.domain.digest_card import build_digest_card, digest_chart
from bot.domain.i18n import Locale, channel_zone, format_date, t
from bot.domain.markets import primary_market
from bot.domain.model import AlertEvent, Channel, OutboxItem, chart_key
from bot.domain.snooze import build_snooze_summary
from bot.domain.symbols import Instrument
from bot.services import Services
from jobs.snooze import SUMMARY_KEY

log = logging.getLogger(__name__)

CACHE_SIZE = 64
"""Groups and charts kept in memory per process (a fan-out reads each once)."""
CardBuilder = Callable[[OutboxItem, Channel], Awaitable[Card | None]]
RealTime = Callable[[], float]


def legacy_inputs(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Figures of an event stored before events carried `inputs` (`{"SOX": -9.15}`)."""
    return [
        {"label": str(name), "metric": "pct", "symbol": str(name), "proxy": False, "value": value}
        for name, value in payload.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def readable(event: AlertEvent) -> AlertEvent:
    """The event with figures the card builder reads, whatever version stored it."""
    if "inputs" in event.payload:
        return event
    return replace(event, payload={**event.payload, "inputs": legacy_inputs(event.payload)})


def render_alert_chart(
    services: Services, events: Sequence[AlertEvent], locale: Locale
) -> bytes | None:
    """The lead symbol against SOX and the Dow (proxy named), up to the print and no further:
    the history's closes before the session, then each series' level at the print."""
    market = services.core.market
    lead_label = lead_of(events, services.core.presets)
    top = next(e for e in events if str(e.payload.get("lead")) == lead_label)
    points: Mapping[str, Mapping[str, float | None]] = top.payload.get("chart", {})
    try:
        lead = market.symbols.resolve(lead_label)
        others = [market.symbols.resolve(name) for name in primary_market().chart_benchmarks]
    except Exception:
        return None
    instruments = [lead, *[inst for inst in others if inst.key != lead.key]]
    session = pd.Timestamp(top.session)
    series, proxies = chart_series(market, instruments, session, after=-1)
    moves: dict[str, float | None] = {}
    for label, closes in list(series.items()):
        point = points.get(_symbol_of(label, instruments))
        if point is None or point.get("last") is None:
            del series[label]  # no level at the print: leave the series out
            continue
        print_level = pd.Series([point["last"]], index=pd.DatetimeIndex([session]), dtype=float)
        series[label] = pd.concat([closes, print_level])
        moves[label] = point.get("pct")
    if lead.label not in series and not any(label == lead.proxy for label in series):
        return None
    names = {inst.label: inst.display(locale) for inst in instruments}
    series = {names.get(key, key): values for key, values in series.items()}
    moves = {names.get(key, key): value for key, value in moves.items()}
    notes = {proxy: t("chart.proxy_of", locale, index=index) for proxy, index in proxies.items()}
    title = t(
        "shock_card.title",
        locale,
        symbol=lead.display(locale),
        date=format_date(session.date(), locale),
    )
    return render_shock_chart(
        series,
        shock_date=session.date(),
        locale=locale,
        title=title,
        proxy_notes={k: v for k, v in notes.items() if k in series},
        moves=moves,
    )


def _symbol_of(label: str, instruments: Sequence[Instrument]) -> str:
    """The Yahoo symbol behind a chart series label (an instrument label or a proxy symbol)."""
    for instrument in instruments:
        if label == instrument.label:
            return instrument.symbol
    return label


@dataclass
class CardRenderer:
    """Builds the Card of any outbox item for its channel (the delivery worker's `build_card`)."""

    services: Services
    replay_of: date | None = None
    source: str = ""
    real_time: RealTime = time.time
    charts_rendered: int = 0
    _chart_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _events: dict[tuple[str, ...], list[AlertEvent]] = field(default_factory=dict)
    _charts: dict[str, bytes | None] = field(default_factory=dict)

    async def __call__(self, item: OutboxItem, channel: Channel) -> Card | None:
        """The Card to send, or None when the item cannot be rendered (it is then parked)."""
        if item.kind == "alert":
            return await self.alert(item, channel)
        if item.kind == "digest":
            return await self.digest(item, channel)
        if SUMMARY_KEY in item.payload:
            return await self.snooze_summary(item.payload[SUMMARY_KEY], channel)
        return notice_card(item.payload, channel.language)

    async def snooze_summary(self, summary: Mapping[str, Any], channel: Channel) -> Card | None:
        """The one message for the alerts a snooze held (None: none of them is stored)."""
        events = await self.events(tuple(str(i) for i in summary.get("alert_ids", ())))
        if not events:
            return None
        saved = await self.services.store.saved_rules(channel.ref)
        locale: Locale = channel.language
        source = self.source or t(
            "alert.source_history" if self.replay_of else "alert.source_live", locale
        )
        return build_snooze_summary(
            events,
            locale=locale,
            zone=channel_zone(channel.zone_name),
            names={text: name for name, text in saved.items()},
            ended=datetime.fromisoformat(str(summary["ended"])),
            source=source,
        )

    async def alert(self, item: OutboxItem, channel: Channel) -> Card | None:
        """The group's one message for this channel."""
        ids = tuple(item.alert_ids or ((item.alert_id,) if item.alert_id else ()))
        events = await self.events(ids)
        if not events:
            return None
        locale: Locale = channel.language
        chart = await self.chart(item, events, locale)
        context = AlertContext(
            presets=self.services.core.presets,
            views=self.services.views,
            locale=locale,
            timezone=channel.zone_name,
            source=self.source
            or t("alert.source_history" if self.replay_of else "alert.source_live", locale),
            replay_of=self.replay_of,
            market=self.services.core.market,
            figure_names=self.services.core.settings.figure_names,
        )
        return build_alert_card(
            events,
            context,
            chart_png=chart,
            arrived_at=item.created_at,
            delivered_at=self.real_time(),
            mention=channel.mention,
        )

    async def events(self, ids: tuple[str, ...]) -> list[AlertEvent]:
        """A group's events, read from the store once per process (events never change)."""
        cached = self._events.get(ids)
        if cached is None:
            cached = [readable(event) for event in await self.services.store.alert_events(ids)]
            if len(self._events) >= CACHE_SIZE:
                self._events.pop(next(iter(self._events)))
            self._events[ids] = cached
        return cached

    async def chart(
        self, item: OutboxItem, events: Sequence[AlertEvent], locale: Locale
    ) -> bytes | None:
        """The stored chart of (print, lead, language), rendered off the loop the first time."""
        lead = lead_of(events, self.services.core.presets)
        key = chart_key(item.print_id or item.alert_id, lead, locale)
        return await self._cached_chart(
            key, lambda: render_alert_chart(self.services, events, locale)
        )

    async def _cached_chart(self, key: str, render: Callable[[], bytes | None]) -> bytes | None:
        """The chart stored under `key`, rendered off the loop by `render` the first time."""
        store = self.services.store
        if key in self._charts:
            return self._charts[key]
        lock = self._chart_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._charts:
                return self._charts[key]
            png = await store.get_chart(key)
            if png is None:
                png = await asyncio.to_thread(render)
                if png is not None:
                    self.charts_rendered += 1
                    await store.put_chart(key, png)
            if len(self._charts) >= CACHE_SIZE:
                self._charts.pop(next(iter(self._charts)))
            self._charts[key] = png
            self._chart_locks.pop(key, None)
            return png

    async def digest(self, item: OutboxItem, channel: Channel) -> Card | None:
        """A digest card from its language-neutral payload; its chart (one per session and
        language, shared by every channel) rendered once off the loop and stored."""
        card = build_digest_card(self.services, channel, item.payload, chart=False)
        session = date.fromisoformat(str(item.payload["session"]))
        locale: Locale = channel.language
        key = chart_key(f"digest/{session.isoformat()}", "SOX", locale)
        png = await self._cached_chart(key, lambda: digest_chart(self.services, session, locale))
        return replace(card, chart_png=png)


def notice_card(payload: Mapping[str, Any], locale: Locale) -> Card:
    """A plain notice: its title and text in the channel's language."""
    title = str(payload.get(f"title_{locale}") or payload.get("title") or "Sputnik")
    text = str(payload.get(f"text_{locale}") or payload.get("text") or "")
    return Card(title=title, severity=Severity.INFO, text=text)
