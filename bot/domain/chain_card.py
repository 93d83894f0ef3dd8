"""The early-warning chain on a card (the card-layout contract's parts 3 and 4): what an
early warning means for New York, the "first warning" line and the day's earlier alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.cards import CardField
from bot.domain.chain import CHAIN_LINES
from bot.domain.i18n import Locale, format_pct, t
from bot.domain.markets import markets
from bot.domain.zones import exchange_clock

NEW_YORK = "America/New_York"


def link_time(at: datetime, zone: ZoneInfo, market_zone: str) -> str:
    """`01:30 ET / 15:30 KST`: New York's time, then the channel's (and the exchange's own
    where it differs from both)."""
    default_zone = markets().default.zone
    parts = [exchange_clock(at, ZoneInfo("UTC"), default_zone) or f"{at:%H:%M} UTC"]
    here = at.astimezone(zone)
    if here.utcoffset() != at.astimezone(ZoneInfo(default_zone)).utcoffset():
        parts.append(f"{here:%H:%M} {here.tzname()}")
    there = at.astimezone(ZoneInfo(market_zone))
    if market_zone != default_zone and there.utcoffset() != here.utcoffset():
        parts.append(exchange_clock(at, zone, market_zone))
    return " / ".join(part for part in parts if part)


def _figure(link: Mapping[str, Any], locale: Locale) -> str:
    value = link.get("value")
    return f"{link.get('label', '?')} {format_pct(None if value is None else float(value), locale)}"


def _at(link: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(link["at"]))


def _where(link: Mapping[str, Any], locale: Locale) -> str:
    """`TSE close`, `NYSE pre-market`: the link's market and its stage there."""
    stage = str(link.get("stage") or "")
    named = t(f"alert.print_{stage}", locale) if stage else ""
    return " ".join(filter(None, (str(link.get("market_label") or link["market"]), named)))


def _alert(link: Mapping[str, Any], locale: Locale) -> str:
    return f"{link['rule_id']} [{link['severity']}] {_figure(link, locale)}"


def link_line(link: Mapping[str, Any], locale: Locale, zone: ZoneInfo) -> str:
    """One alert of the chain: `01:30 ET / 15:30 JST · TSE close · tokyo_deepseek [warning]
    ADVANTEST −8.61 %` (its times, its market and stage there, its preset and figure)."""
    when = link_time(_at(link), zone, str(link["zone"]))
    return f"{when} · {_where(link, locale)} · {_alert(link, locale)}"


def digest_chain_text(links: Sequence[Mapping[str, Any]], locale: Locale, zone: ZoneInfo) -> str:
    """The day's chain on its digest, in time order, one line per print (its alerts joined):
    ≤ 5 lines, the first warning first and the latest prints last, how many between."""
    prints: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for link in links:
        prints.setdefault((str(link["at"]), str(link["market"])), []).append(link)
    lines = [
        f"{link_line(group[0], locale, zone)}"
        + "".join(f"; {_alert(other, locale)}" for other in group[1:])
        for group in prints.values()
    ]
    if len(lines) <= CHAIN_LINES:
        return "\n".join(lines)
    tail = CHAIN_LINES - 2
    between = sum(len(group) for group in list(prints.values())[1:-tail])
    more = t("snooze.summary_more", locale, count=between)
    return "\n".join([lines[0], more, *lines[-tail:]])


def chain_fields(payload: Mapping[str, Any], locale: Locale, zone: ZoneInfo) -> list[CardField]:
    """Part 3's "first warning" line and part 4's earlier alerts (≤ 5 lines, time-ordered)."""
    chain = payload.get("chain")
    if not chain:
        return []
    first = chain["first"]
    first_text = t(
        "alert.first_warning_text",
        locale,
        when=link_time(_at(first), zone, str(first["zone"])),
        market=_where(first, locale),
        figure=_figure(first, locale),
    )
    fields = [CardField(t("alert.first_warning", locale), first_text, inline=False)]
    earlier: Sequence[Mapping[str, Any]] = chain.get("earlier", [])
    lines = [link_line(link, locale, zone) for link in earlier[-CHAIN_LINES:]]
    hidden = int(chain.get("count", len(earlier))) - len(lines)
    if hidden > 0:  # the oldest make way, the first warning is on its own line above
        lines[0] = t("alert.chain_more", locale, n=hidden + 1)
    fields.append(CardField(t("alert.chain", locale), "\n".join(lines), inline=False))
    return fields


def outlook_field(payload: Mapping[str, Any], locale: Locale) -> CardField | None:
    """An early warning's meaning for New York: when it opens, the presets that watch the
    same story there, and the names most exposed (by correlation)."""
    seen = payload.get("outlook")
    if not seen:
        return None
    minutes = max(int(seen["minutes"]), 0)
    span = t("alert.early_span", locale, hours=minutes // 60, minutes=f"{minutes % 60:02d}")
    parts = [t("alert.early_opens", locale, market=seen["market"], span=span)]
    for watch in seen.get("watches", []):
        labels = ", ".join(watch["labels"])
        parts.append(t("alert.early_watches", locale, rule=watch["rule"], labels=labels))
    names = ", ".join(f"{item['label']} ρ {item['rho']:+.2f}" for item in seen.get("exposed", []))
    if names:
        parts.append(t("alert.early_exposed", locale, names=names))
    return CardField(t("alert.early_warning", locale), "; ".join(parts), inline=False)


def is_early(payload: Mapping[str, Any]) -> bool:
    """True for an alert before New York's open (its card is marked as an early warning)."""
    return bool(payload.get("outlook"))
