"""`/quote SYMBOL…`: the latest session's figures for one or more symbols; without symbols,
every market's quoted symbols grouped by market, each saying whether it trades now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.domain.cards import Card, CardField
from bot.domain.freshness import freshness
from bot.domain.i18n import Locale, format_datetime, format_number, t
from bot.domain.markets import Market, markets
from bot.domain.overnight import watched
from bot.domain.snapshot import Quote, Resolved
from bot.domain.symbols import Instrument
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import footer, label, move, price_decimals, resolve_symbol

MAX_SYMBOLS = 10


@command("quote")
async def quote(
    inv: Invocation,
    *symbols: Annotated[str, "Symbols or aliases, e.g. NVDA SOX HYNIX", Autocomplete("symbols")],
) -> Card:
    """Latest close, move, gap and z for up to ten symbols (default: every market, grouped)."""
    if not symbols:
        return _markets_card(inv)
    if len(symbols) > MAX_SYMBOLS:
        raise UserError("error.too_many_symbols", limit=MAX_SYMBOLS)
    locale = inv.locale
    now = inv.services.clock.now()
    fields = []
    stamps = []
    used = []
    for text in dict.fromkeys(s.upper() for s in symbols):
        pct, found = _latest(inv, resolve_symbol(inv, text))
        if found is None:
            fields.append(CardField(pct.instrument.label, t("common.na", locale)))
            continue
        stamps.append(found.as_of)
        used.append(found.symbol)
        z = found.metric("z")
        z_text = format_number(z, locale, decimals=1, signed=True) if isinstance(z, float) else ""
        body = t(
            "quote.line",
            locale,
            close=_close(found, locale),
            move=move(pct, locale),
            gap=move(found.metric("gap"), locale),
            z=z_text or t("common.na", locale),
            date=freshness(found.session, found.symbol, now).describe(locale),
        )
        fields.append(CardField(label(pct, locale), body))
    return _card(inv, t("quote.title", locale), fields, used, stamps)


def _markets_card(inv: Invocation) -> Card:
    """Each configured market's quoted symbols, one field per market, with its phase now."""
    locale = inv.locale
    now = inv.services.clock.now()
    fields = []
    stamps = []
    used = []
    for market in markets():
        lines = []
        for instrument in watched(inv.services.core.market, market):
            pct, found = _latest(inv, instrument)
            if found is None:
                continue
            stamps.append(found.as_of)
            used.append(found.symbol)
            date = freshness(found.session, found.symbol, now).describe(locale)
            lines.append(
                t(
                    "quote.group_line",
                    locale,
                    name=label(pct, locale),
                    close=_close(found, locale),
                    move=move(pct, locale),
                    date=date,
                )
            )
        if lines:
            fields.append(CardField(_phase_title(market, now, locale), "\n".join(lines), False))
    return _card(inv, t("quote.markets_title", locale), fields, used, stamps)


def _phase_title(market: Market, now: datetime, locale: Locale) -> str:
    """`NYSE — open now`, `TSE — lunch break`, `KRX — closed, opens … 09:00 KST`."""
    phase = market.phase(now)
    if phase != "closed":
        state = t(f"quote.phase_{phase}", locale)
    else:
        opens = market.next_open(now)
        when = (
            format_datetime(opens, locale, tz=ZoneInfo(market.zone))
            if opens is not None
            else t("common.na", locale)
        )
        state = t("quote.phase_closed", locale, next=when)
    return t("quote.market_title", locale, market=market.label, state=state)


def _latest(inv: Invocation, instrument: Instrument) -> tuple[Resolved, Quote | None]:
    """The instrument's move at its latest close, of the index or its proxy: an index file
    that ends early gives way to its (named) proxy rather than showing an old close."""
    market = inv.services.core.market
    candidates = [s for s in (instrument.symbol, instrument.proxy) if s and market.has(s)]
    session = max(market.sessions(s)[-1] for s in candidates)
    pct = market.snapshot(session, "close").read(instrument, "pct")
    found = market.snapshot(session, "close").quote(pct.symbol)
    return pct, found if isinstance(found, Quote) else None


def _close(found: Quote, locale: Locale) -> str:
    return format_number(found.last, locale, decimals=price_decimals(found.symbol))


def _card(
    inv: Invocation, title: str, fields: list[CardField], used: list[str], stamps: list[datetime]
) -> Card:
    source = t("common.history_source", inv.locale, symbols=", ".join(dict.fromkeys(used)))
    # Each quote names its own session; the footer's as-of only when they all agree.
    as_of = stamps[0] if stamps and len(set(stamps)) == 1 else None
    return Card(title=title, fields=tuple(fields), footer=footer(inv, source, as_of))
