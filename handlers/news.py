"""`/news SYMBOL` (`/news 엔비디아`): recent headlines about a symbol, and /shock's headlines.

Headlines are fetched at command time within `[news] budget_seconds` (the platforms' deadline:
Slack has its ack, Discord defers a command still running after 1.5 s), from Yahoo Finance and
the configured feeds, each shown as its publisher wrote it, with publisher, time and link —
labelled as news, never as expert views.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.cards import Card, CardField
from bot.domain.freshness import freshness
from bot.domain.i18n import t
from bot.domain.model import language_zone
from bot.domain.news import NewsBatch, headline_lines, headlines_field
from bot.domain.symbols import Instrument
from handlers.base import Autocomplete, Invocation, command
from handlers.common import footer, resolve_symbol


async def channel_zone(inv: Invocation) -> ZoneInfo:
    """The zone the invoking channel reads times in (its own, else its language's)."""
    channel = await inv.services.store.get_channel(inv.channel)
    return ZoneInfo(channel.zone_name if channel is not None else language_zone(inv.locale))


async def headlines_about(
    inv: Invocation, instruments: Sequence[Instrument], limit: int
) -> NewsBatch | None:
    """Up to `limit` headlines about `instruments` from the lookback window before now, and
    the sources that did not answer (None when this bot shows no news)."""
    desk = inv.services.news
    if desk is None or not desk.settings.enabled:
        return None
    now = inv.services.clock.now()
    since = now - timedelta(hours=desk.settings.lookback_hours)
    subjects = [desk.subject(instrument) for instrument in instruments]
    return await desk.headlines(subjects, before=now, since=since, limit=limit)


async def shock_news(
    inv: Invocation, subject: Instrument, session: pd.Timestamp
) -> list[CardField]:
    """/shock's headlines section: today's headlines for the current session only; for a
    past one, why there are none (no news archive); nothing when news is off."""
    desk = inv.services.news
    if desk is None or not desk.settings.enabled:
        return []
    if freshness(session, subject.symbol, inv.services.clock.now()).stale:
        return [CardField(t("news.field", inv.locale), t("news.past_note", inv.locale), False)]
    found = await headlines_about(inv, [subject], desk.settings.max_items)
    field = headlines_field(found.items if found else [], inv.locale, await channel_zone(inv))
    return [field] if field is not None else []


@command("news")
async def news(
    inv: Invocation,
    symbol: Annotated[
        str, "Symbol, alias or Korean name, e.g. NVDA, SOX, 엔비디아", Autocomplete("symbols")
    ],
) -> Card:
    """Recent headlines about a symbol, with publisher, time and link."""
    locale = inv.locale
    instrument = resolve_symbol(inv, symbol)
    name = instrument.display(locale)
    title = t("news.title", locale, symbol=name)
    desk = inv.services.news
    found = await headlines_about(inv, [instrument], desk.settings.command_items) if desk else None
    if desk is None or found is None:
        return Card(title=title, text=t("news.off", locale), footer=footer(inv, "", None))
    zone = await channel_zone(inv)
    now = inv.services.clock.now()
    sources = desk.source_names
    shown = ", ".join(sources) if len(sources) <= 3 else t("news.feeds", locale, count=len(sources))
    source = t("news.source", locale, sources=shown)
    silent = t("news.unavailable", locale, sources=", ".join(found.unavailable))
    if not found.items:
        hours = f"{desk.settings.lookback_hours:g}"
        text = t("news.none", locale, symbol=name, hours=hours)
        if found.unavailable:
            text += "\n" + silent
        return Card(title=title, text=text, footer=footer(inv, source, now))
    lines = headline_lines(found.items, locale, zone)
    field = CardField(t("news.field", locale), lines, inline=False)
    note = t("news.note", locale) + ("\n" + silent if found.unavailable else "")
    return Card(title=title, fields=(field,), text=note, footer=footer(inv, source, now))
