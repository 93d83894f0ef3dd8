"""`/digest now` (the channel's digest at once, rate-limited) and `/watchlist show|add|remove`
(the symbols its digest lists among the movers)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.digest_card import build_digest_card
from bot.domain.i18n import channel_zone, format_datetime, t
from bot.domain.markets import primary_market
from bot.domain.model import Channel, Subscription
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import resolve_symbol
from handlers.subscriptions import ensure_channel
from jobs.digest import digest_payload

MAX_WATCHLIST = 20
DIGEST_NOW = "digest_now"


@command("digest now")
async def digest_now(inv: Invocation) -> Card:
    """Send this channel its digest now: the last US session (at most once per 10 minutes)."""
    services = inv.services
    locale = inv.locale
    now = services.clock.now()
    closed = primary_market().last_closed_session(now)
    if closed is None:
        raise UserError("digest_now.no_session")
    settings = services.core.settings.digest
    await ensure_channel(inv)
    interval = settings.on_demand_minutes * 60
    earlier = await services.store.claim_request(inv.channel, DIGEST_NOW, now, interval)
    channel = await services.store.get_channel(inv.channel) or Channel(inv.channel, locale)
    zone = channel_zone(channel.zone_name)
    if earlier is not None:
        raise UserError(
            "digest_now.too_soon",
            minutes=f"{settings.on_demand_minutes:g}",
            last=format_datetime(earlier, locale, tz=zone),
            next=format_datetime(earlier + timedelta(seconds=interval), locale, tz=zone),
        )
    subscriptions = await services.store.list_subscriptions(inv.channel)
    subscription = next(
        (s for s in subscriptions if s.kind == "digest"),
        Subscription(inv.channel, "digest", kind="digest", digest_zone=channel.zone_name),
    )
    session = closed[0]
    snapshot = await asyncio.to_thread(services.core.market.snapshot, session, "close")
    payload = await digest_payload(services, subscription, snapshot, session, now, 0.0, settings)
    return await asyncio.to_thread(build_digest_card, services, channel, payload)


async def _watched(inv: Invocation) -> tuple[list[str], bool]:
    """The channel's digest symbols (labels) and whether they are its own (not the default)."""
    channel = await inv.services.store.get_channel(inv.channel)
    own = channel.watchlist if channel is not None else None
    labels = [i.label for i in inv.services.core.watchlist(own)]
    return labels, own is not None


def _watch_card(inv: Invocation, labels: list[str], own: bool, text: str = "") -> Card:
    locale = inv.locale
    name = t("watchlist.own" if own else "watchlist.default", locale)
    shown = ", ".join(labels) or t("watchlist.empty", locale)
    return Card(
        title=t("watchlist.title", locale),
        text=text,
        fields=(CardField(name, shown, inline=False),),
    )


@command("watchlist show")
async def watchlist_show(inv: Invocation) -> Card:
    """The symbols this channel's digest lists among the movers."""
    labels, own = await _watched(inv)
    return _watch_card(inv, labels, own)


@command("watchlist add", admin_only=True)
async def watchlist_add(
    inv: Invocation,
    *symbols: Annotated[str, "Symbols or aliases, e.g. AMD TSM HYNIX", Autocomplete("symbols")],
) -> Card:
    """Add symbols to this channel's digest (it starts from the default list)."""
    if not symbols:
        raise UserError("watchlist.which", usage="/watchlist add AMD TSM")
    labels, own = await _watched(inv)
    added = []
    for text in symbols:
        label = resolve_symbol(inv, text).label
        if label not in labels and label not in added:
            added.append(label)
    if len(labels) + len(added) > MAX_WATCHLIST:
        raise UserError("watchlist.too_many", limit=MAX_WATCHLIST)
    if not added:
        return _watch_card(inv, labels, own, t("watchlist.nothing_added", inv.locale))
    await ensure_channel(inv)
    await inv.services.store.set_watchlist(inv.channel, [*labels, *added])
    text = t("watchlist.added", inv.locale, symbols=", ".join(added))
    return _watch_card(inv, [*labels, *added], True, text)


@command("watchlist remove", admin_only=True)
async def watchlist_remove(
    inv: Invocation,
    *symbols: Annotated[str, "Symbols to take off, or default for the default list"],
) -> Card:
    """Take symbols off this channel's digest, or go back to the default list."""
    if not symbols:
        raise UserError("watchlist.which", usage="/watchlist remove AMD")
    await ensure_channel(inv)
    store = inv.services.store
    if [word.lower() for word in symbols] in (["default"], ["기본"], ["기본값"]):
        await store.set_watchlist(inv.channel, None)
        labels, _ = await _watched(inv)
        return _watch_card(inv, labels, False, t("watchlist.reset", inv.locale))
    labels, _ = await _watched(inv)
    removing = []
    for text in symbols:
        label = resolve_symbol(inv, text).label
        if label not in labels:
            raise UserError("watchlist.not_listed", symbol=label)
        removing.append(label)
    kept = [label for label in labels if label not in removing]
    await store.set_watchlist(inv.channel, kept)
    text = t("watchlist.removed", inv.locale, symbols=", ".join(dict.fromkeys(removing)))
    return _watch_card(inv, kept, True, text)
