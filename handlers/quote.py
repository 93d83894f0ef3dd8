"""`/quote SYMBOL…`: the latest session's figures for one or more symbols."""

from __future__ import annotations

from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.i18n import format_date, format_number, t
from bot.domain.snapshot import Quote
from handlers.base import Invocation, UserError, command
from handlers.common import footer, label, move, price_decimals, resolve_symbol

MAX_SYMBOLS = 10
DEFAULT_SYMBOLS = ("SOX", "NVDA", "SPX", "COMP", "DJI")


@command("quote")
async def quote(
    inv: Invocation, *symbols: Annotated[str, "Symbols or aliases, e.g. NVDA SOX HYNIX"]
) -> Card:
    """Latest close, move, gap and z for up to ten symbols (default: the main indices)."""
    symbols = symbols or DEFAULT_SYMBOLS
    if len(symbols) > MAX_SYMBOLS:
        raise UserError("error.too_many_symbols", limit=MAX_SYMBOLS)
    market = inv.services.core.market
    locale = inv.locale
    fields = []
    latest = None
    for text in dict.fromkeys(s.upper() for s in symbols):
        instrument = resolve_symbol(inv, text)
        symbol = instrument.symbol if market.has(instrument.symbol) else str(instrument.proxy)
        session = market.sessions(symbol)[-1]
        snapshot = market.snapshot(session, "close")
        pct = snapshot.read(instrument, "pct")
        found = snapshot.quote(pct.symbol)
        if not isinstance(found, Quote):
            fields.append(CardField(instrument.label, t("common.na", locale)))
            continue
        latest = max(latest, found.as_of) if latest else found.as_of
        z = found.metric("z")
        z_text = format_number(z, locale, decimals=1, signed=True) if isinstance(z, float) else ""
        body = t(
            "quote.line",
            locale,
            close=format_number(found.last, locale, decimals=price_decimals(found.symbol)),
            move=move(pct, locale),
            gap=move(found.metric("gap"), locale),
            z=z_text or t("common.na", locale),
            date=format_date(found.session.date(), locale),
        )
        fields.append(CardField(label(pct, locale), body))
    return Card(
        title=t("quote.title", locale),
        fields=tuple(fields),
        footer=footer(inv, market.source, latest),
    )
