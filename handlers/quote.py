"""`/quote SYMBOL…`: the latest session's figures for one or more symbols."""

from __future__ import annotations

from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.freshness import freshness
from bot.domain.i18n import format_number, t
from bot.domain.markets import markets
from bot.domain.snapshot import Quote
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import footer, label, move, price_decimals, resolve_symbol

MAX_SYMBOLS = 10


def default_symbols() -> tuple[str, ...]:
    """What `/quote` without arguments shows: each market's `quote` list, in config order."""
    return tuple(dict.fromkeys(s for market in markets() for s in market.quote))


@command("quote")
async def quote(
    inv: Invocation,
    *symbols: Annotated[str, "Symbols or aliases, e.g. NVDA SOX HYNIX", Autocomplete("symbols")],
) -> Card:
    """Latest close, move, gap and z for up to ten symbols (default: the main indices)."""
    symbols = symbols or default_symbols()
    if len(symbols) > MAX_SYMBOLS:
        raise UserError("error.too_many_symbols", limit=MAX_SYMBOLS)
    market = inv.services.core.market
    locale = inv.locale
    now = inv.services.clock.now()
    fields = []
    stamps = []
    used = []
    for text in dict.fromkeys(s.upper() for s in symbols):
        instrument = resolve_symbol(inv, text)
        # The latest session of the index or its proxy: an index file that ends early
        # gives way to its (named) proxy rather than showing an old close.
        candidates = [s for s in (instrument.symbol, instrument.proxy) if s and market.has(s)]
        session = max(market.sessions(s)[-1] for s in candidates)
        pct = market.snapshot(session, "close").read(instrument, "pct")
        found = market.snapshot(session, "close").quote(pct.symbol)
        if not isinstance(found, Quote):
            fields.append(CardField(instrument.label, t("common.na", locale)))
            continue
        stamps.append(found.as_of)
        used.append(found.symbol)
        z = found.metric("z")
        z_text = format_number(z, locale, decimals=1, signed=True) if isinstance(z, float) else ""
        body = t(
            "quote.line",
            locale,
            close=format_number(found.last, locale, decimals=price_decimals(found.symbol)),
            move=move(pct, locale),
            gap=move(found.metric("gap"), locale),
            z=z_text or t("common.na", locale),
            date=freshness(found.session, found.symbol, now).describe(locale),
        )
        fields.append(CardField(label(pct, locale), body))
    source = t("common.history_source", locale, symbols=", ".join(dict.fromkeys(used)))
    # Each quote names its own session; the footer's as-of only when they all agree.
    as_of = stamps[0] if stamps and len(set(stamps)) == 1 else None
    return Card(
        title=t("quote.title", locale),
        fields=tuple(fields),
        footer=footer(inv, source, as_of),
    )
