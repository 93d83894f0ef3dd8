"""`python -m bot replay DATE`'s round-the-clock part: the trading day's markets, its
timeline of alerts (New York time, the exchange's own time, the market) and the first
warning with its lead over the default market's open."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cli.common import pct
from bot.domain.markets import Market, markets
from bot.domain.price_metrics import Unavailable
from bot.domain.rules.evaluate import RuleOutcome
from bot.feeds.replay_day import DayAlert, DayReplay

_KIND = {"pre": "pre-market", "open": "open", "intraday": "session", "close": "close"}


def _at(moment: datetime, zone: str, with_day: bool = False) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%a %Y-%m-%d %H:%M %Z" if with_day else "%H:%M %Z")


def _name(market: Market) -> str:
    return market.label or market.name


def lead_text(lead: timedelta) -> str:
    """ "4 h 50 m before the open", "at the open", "6 h 30 m after the open"."""
    minutes = int(abs(lead.total_seconds()) // 60)
    if minutes == 0:
        return "at the open"
    span = f"{minutes // 60} h {minutes % 60:02d} m"
    return f"{span} {'before' if lead > timedelta(0) else 'after'} the open"


def _figures(outcome: RuleOutcome) -> str:
    return " · ".join(
        f"{item.label} {pct(item.value)}" for item in outcome.inputs if item.number is not None
    )


def undecided_reason(outcome: RuleOutcome, stand_ins: dict[str, str]) -> str:
    """Why a rule could not be decided: the inputs with no print of their own yet."""
    parts = []
    for item in outcome.missing:
        name = item.instrument.label
        helper = stand_ins.get(item.instrument.symbol)
        if helper is not None:
            parts.append(
                f"{name} has no pre-market print ({item.instrument.symbol} prints only in the "
                f"session and {helper} has no intraday bars that day)"
            )
        else:
            reason = item.value if isinstance(item.value, Unavailable) else "unavailable"
            parts.append(f"{name}: {reason}")
    return "; ".join(parts)


def _stage(alert: DayAlert, primary: Market) -> str:
    """The print's stage in its own market: the default market's from the print's kind;
    another's from its calendar (Tokyo's 15:30 print is its close, Amsterdam's 09:00 its
    open), else its phase then."""
    if alert.market is primary:
        return _KIND.get(alert.kind, alert.kind)
    return alert.market.stage_at(alert.at) or alert.market.phase(alert.at)


def alert_where(alert: DayAlert) -> str:
    """The market and stage an alert's print came from: "TSE close", "NYSE pre-market"."""
    return f"{_name(alert.market)} {_stage(alert, markets().default)}"


def _alert_line(alert: DayAlert, stand_ins: dict[str, str]) -> list[str]:
    primary = markets().default
    outcome = alert.outcome
    verb = "ESCALATED" if alert.escalated else "FIRED"
    tier = outcome.tier.name if outcome.tier is not None else ""
    where = alert_where(alert)
    lines = [
        f"  {_at(alert.at, primary.zone)} · {_at(alert.at, alert.market.zone)} · {where:<16} "
        f"{verb} {outcome.rule.id} [{tier}] {_figures(outcome)}"
    ]
    for other in alert.undecided:
        lines.append(f"        undecided {other.rule.id}: {undecided_reason(other, stand_ins)}")
    return lines


def timeline_lines(
    replay: DayReplay, extended: dict[str, str], digest_zone: str = "Asia/Seoul"
) -> list[str]:
    """The trading day round the clock, as console lines."""
    day = replay.day
    primary = markets().default
    zone = primary.zone
    lines = [
        "",
        f"Round the clock — the trading day that ends with {day.session:%a %Y-%m-%d}'s "
        f"{_name(primary)} close",
        f"  from {_at(day.start, zone, True)} (the previous {_name(primary)} close) to "
        f"{_at(day.end, zone, True)} (the {_at(day.end, digest_zone)} digest): "
        f"{replay.moments} print times",
    ]
    for item in day.markets:
        name = f"{_name(item.market)} ({item.market.calendar})"
        if item.closed:
            lines.append(f"  {name}: closed on {day.session:%a %Y-%m-%d}")
        else:
            assert item.opens is not None and item.closes is not None
            hours = f"{_at(item.opens, item.market.zone)} → {_at(item.closes, item.market.zone)}"
            if item.market.zone != zone:
                hours += f" ({_at(item.opens, zone)} → {_at(item.closes, zone)})"
            lines.append(f"  {name}: {hours}")
    for index, etf in day.stand_ins.items():
        lines.append(
            f"  {index} outside the session: stand-in {etf}, the chip ETF with intraday bars "
            "that day (shown as a proxy)"
        )
    lines += [f"  dropped: {warning}" for warning in day.warnings]
    lines.append(f"Timeline ({zone} time · the exchange's time · market):")
    if not replay.alerts:
        lines.append("  no preset fired")
    for alert in replay.alerts:
        lines += _alert_line(alert, extended)
    first = replay.first_warning
    if first is None:
        lines.append("First warning: none")
        return lines
    lines.append(
        f"First warning: {_at(first.at, zone)} ({_at(first.at, first.market.zone)}) from "
        f"{alert_where(first)}: {first.outcome.rule.id} "
        f"[{first.outcome.tier.name if first.outcome.tier else ''}] {_figures(first.outcome)} "
        f"— {lead_text(first.lead)} ({_name(primary)} opens {_at(day.opens, zone)})"
    )
    return lines
