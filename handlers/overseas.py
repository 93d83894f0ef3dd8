"""Markets round the clock on /shock: when the session's print was (the channel's clock, the
market's own), what the overseas markets did before New York's open, and what New York did
in the session an overseas session led into."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.alert_card import market_time
from bot.domain.analysis import ShockReport
from bot.domain.cards import CardField
from bot.domain.i18n import Locale, format_date, format_datetime, t
from bot.domain.market import MarketData
from bot.domain.markets import markets
from bot.domain.overnight import NewYorkAfter, OverseasMoves, before_new_york_open, new_york_after
from bot.domain.snapshot import Resolved
from bot.domain.zones import local_clock
from handlers.common import label, move

NEW_YORK_CLOCK = "America/New_York"


def when_field(report: ShockReport, locale: Locale, zone: ZoneInfo) -> CardField:
    """The card's "when": the session's close in the channel's zone, its market's own clock."""
    quote = report.quote
    stage = t(f"alert.print_{'close' if quote.state == 'close' else 'open'}", locale)
    return CardField(
        t("alert.print", locale),
        f"{stage} · {market_time(quote.as_of, quote.symbol, locale, zone)}",
    )


def world_field(data: MarketData, report: ShockReport, locale: Locale) -> CardField | None:
    """Before New York's open (a New York subject) or New York after (an overseas one)."""
    book = markets()
    market = book.for_symbol(report.quote.symbol)
    if market is book.default:
        overseas = before_new_york_open(data, book, report.session)
        return overseas_field(overseas, report.session, locale) if overseas else None
    after = new_york_after(data, book, market, report.session)
    return new_york_field(after, locale) if after is not None else None


def overseas_field(
    overseas: list[OverseasMoves], session: pd.Timestamp, locale: Locale
) -> CardField:
    """One line per overseas market: its print's time on its clock and New York's, its moves."""
    opens = markets().default.open_of(session)
    day = session.date()
    lines = []
    for item in overseas:
        name = item.market.label
        if item.at is None:
            when = (
                format_datetime(item.next_open, locale, tz=ZoneInfo(item.market.zone))
                if item.next_open is not None
                else t("common.na", locale)
            )
            lines.append(t("overseas.closed", locale, market=name, next=when))
            continue
        lines.append(
            t(
                f"overseas.line_{item.stage}",
                locale,
                market=name,
                local=local_clock(item.at, item.market.zone, locale, day=day),
                new_york=local_clock(item.at, NEW_YORK_CLOCK, locale, day=day),
                moves=_moves(item.moves, locale),
            )
        )
    title = t("overseas.title", locale, open=local_clock(opens, NEW_YORK_CLOCK, locale, day=day))
    return CardField(title, "\n".join(lines), inline=False)


def new_york_field(after: NewYorkAfter, locale: Locale) -> CardField:
    """What New York's benchmarks did in the session that followed."""
    title = t("overseas.new_york_after", locale, date=format_date(after.session.date(), locale))
    return CardField(title, _moves(after.moves, locale), inline=False)


def _moves(moves: tuple[Resolved, ...], locale: Locale) -> str:
    return " · ".join(f"{label(item, locale)} {move(item, locale)}" for item in moves)
