"""`python -m bot replay DATE`: replay a session's real prints through every preset."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.cli import UsageError
from bot.cli.common import load_core, pct
from bot.domain.backtest import rule_thresholds
from bot.domain.formatting import format_metric, proxy_suffix
from bot.domain.markets import primary_market
from bot.domain.price_metrics import Unavailable
from bot.domain.replay import Replay, ReplayStep, history_sessions, replay_session
from bot.domain.rules.evaluate import CompiledRules, RuleOutcome
from bot.domain.sessions import SessionError, resolve_session
from bot.domain.snapshot import Quote, Snapshot
from bot.domain.symbols import Instrument
from bot.domain.tiers import tier_name

if TYPE_CHECKING:
    import pandas as pd

    from bot.chat.console.sink import Delivery
    from bot.services import Core

NEW_YORK = ZoneInfo("America/New_York")
STAGE_NAMES = {"previous_close": "previous close", "open": "open", "close": "close"}


def register(subparsers: Any) -> None:
    """Add the `replay` sub-command."""
    parser = subparsers.add_parser(
        "replay",
        help="replay one session's real prints (previous close, open, close) through the presets",
    )
    parser.add_argument(
        "date", help="the default market's session (NYSE as shipped), YYYY-MM-DD (e.g. 2025-01-27)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay the session and print what fired, then the next session's outcome."""
    core = load_core(args)
    sessions = history_sessions(core.market)
    try:
        session = resolve_session(args.date, sessions)
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    rules = CompiledRules(list(core.presets.values()))
    replay = replay_session(core.market, rules, session, core.watchlist(), sessions)
    print("\n".join(render_replay(replay)))
    print("\n".join(round_the_clock(core, session)))
    # Imported here: the delivery pipeline (charts, matplotlib) is not needed to start the CLI.
    from bot.cli.replay_pipeline import replay_deliveries

    print("\n".join(delivered_lines(asyncio.run(replay_deliveries(core, session)))))
    return 0


def round_the_clock(core: Core, session: pd.Timestamp) -> list[str]:
    """The trading day round the clock: its markets, its timeline and first warning."""
    from bot.cli.replay_timeline import timeline_lines
    from bot.feeds.replay_day import day_extended, load_trading_day, walk_day

    day = load_trading_day(core, session)
    walked = asyncio.run(walk_day(core, day, list(core.presets.values())))
    zone = core.settings.digest.default_zone
    return timeline_lines(walked, day_extended(core, day), zone)


def delivered_lines(deliveries: list[Delivery]) -> list[str]:
    """What a channel subscribed to every preset received, message by message."""
    from bot.cli.replay_pipeline import REPLAY_CHANNEL

    count = len(deliveries)
    lines = [
        "",
        f"Delivered to a channel subscribed to every preset ({REPLAY_CHANNEL.ref.key}, "
        f"{REPLAY_CHANNEL.zone_name}): {count} message{'s' if count != 1 else ''}, through "
        "the claim, the outbox, the delivery worker and the console sink",
    ]
    for number, delivery in enumerate(deliveries, start=1):
        lines += ["", f"── message {number}/{count} ──", delivery.text]
    return lines


def _day(stamp: Any) -> str:
    return stamp.strftime("%a %Y-%m-%d")


def _level(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _row(instrument: Instrument, snapshot: Snapshot) -> str:
    reading = snapshot.read(instrument, "pct")
    quote = snapshot.quote(reading.symbol)
    name = (
        f"{reading.label} [{reading.symbol}]"
        if reading.symbol != instrument.label
        else reading.label
    )
    if isinstance(quote, Unavailable):
        return f"  {name:<22} n/a — {quote}"
    if isinstance(reading.value, Unavailable):
        return f"  {name:<22} n/a — {reading.value}"
    assert isinstance(quote, Quote)
    span = f"{_level(quote.low)}–{_level(quote.high)}" if quote.low is not None else "—"
    z = quote.metric("z")
    z_text = f"{z:+.1f}".replace("-", "−") if isinstance(z, float) else "—"
    # A gap the proxy supplied (the index has no open) is shown, naming the proxy.
    gap = snapshot.read(instrument, "gap")
    adjusted = " (adj.)" if quote.adjusted_levels else ""
    via = proxy_suffix(gap, reading.symbol)
    gap_note = f" · gap from {gap.symbol}" if via else ""
    return (
        f"  {name:<22} {_level(quote.previous_close):>12} {_level(quote.open):>12} "
        f"{_level(quote.last):>12} {pct(reading.value):>9} {pct(gap.value):>9} {z_text:>6}  "
        f"{span}{adjusted}{gap_note}"
    )


def _inputs(outcome: RuleOutcome) -> str:
    """The figures a rule read, in their units, with the digits their thresholds need."""
    limits = rule_thresholds(outcome.rule.tree)
    return " · ".join(
        f"{item.label}.{item.metric} "
        + format_metric(
            item.metric,
            item.value,
            "en",
            thresholds=limits.get(f"{item.instrument.label}.{item.metric}", ()),
        )
        for item in outcome.inputs
    )


def _step_lines(index: int, step: ReplayStep, previous: dict[str, int]) -> list[str]:
    when = step.moment.astimezone(NEW_YORK).strftime("%a %Y-%m-%d %H:%M ET")
    lines = [f"[{index}/3] {STAGE_NAMES[step.stage]} — {when}"]
    for outcome in step.outcomes:
        rule_id = outcome.rule.id
        if outcome.fired and outcome.tier is not None:
            rank = outcome.tier.rank
            if rule_id not in previous:
                verb = "FIRED"
            elif rank > previous[rule_id]:
                verb = "ESCALATED"
            else:
                verb = "still firing"
            previous[rule_id] = max(rank, previous.get(rule_id, 0))
            lines.append(f"  {verb} {rule_id} [{_tier(outcome)}] — {outcome.rule.description_en}")
            lines.append(f"        {_inputs(outcome)}")
        else:
            lines.append(f"  not fired {rule_id}: {outcome.why_not()} ({_inputs(outcome)})")
    return lines


def render_replay(replay: Replay) -> list[str]:
    """The replay as console lines."""
    close = replay.close
    next_day = (
        _day(replay.next_session) if replay.next_session is not None else "not in the history"
    )
    lines = [
        f"Sputnik replay — {primary_market().label} session {_day(replay.session)} "
        f"({_source(close)}; real prints only)",
        f"previous session {_day(replay.previous_session)} · next session {next_day}",
        "",
        "Session figures: move = close vs previous close; the day's low–high is a range, "
        "not a path; (adj.) = adjusted price levels",
        f"  {'symbol':<22} {'prev close':>12} {'open':>12} {'close':>12} {'move':>9} "
        f"{'gap':>9} {'z':>6}  low–high",
    ]
    lines += [_row(instrument, close) for instrument in replay.watch]
    lines.append("")
    fired_so_far: dict[str, int] = {}
    # The previous close belongs to the previous session: its firings are not today's.
    for index, step in enumerate(replay.steps, start=1):
        lines += _step_lines(index, step, fired_so_far if step.stage != "previous_close" else {})
    lines.append("")
    lines += firing_lines(replay)
    if replay.next_snapshot is not None and replay.next_session is not None:
        moves = [f"{item.label} {pct(item.value)}" for item in replay.moves(replay.next_snapshot)]
        lines.append(f"Next session {_day(replay.next_session)}: " + ", ".join(moves))
    else:
        lines.append("Next session: not in the history yet")
    return lines


def firing_lines(replay: Replay) -> list[str]:
    """What fired on the session: at which print first, and whether it held at the close."""
    firings = replay.firings
    if not firings:
        return [f"Fired on {replay.session.date()}: nothing"]
    lines = [f"Fired on {replay.session.date()}:"]
    for firing in firings:
        outcome, close = firing.outcome, firing.at_close
        tier = f" [{_tier(outcome)}]" if outcome.tier else ""
        when = firing.first.moment.astimezone(NEW_YORK).strftime("%H:%M ET")
        first = f"at the {STAGE_NAMES[firing.first.stage]} ({when}: {_inputs(outcome)})"
        if firing.first.stage == "close":
            held = "at the close itself"
        elif firing.held_at_close:
            close_tier = f" [{_tier(close)}]" if close.tier else ""
            held = f"still held at the close{close_tier} ({_inputs(close)})"
        else:
            held = f"no longer held at the close ({_inputs(close)})"
        if firing.first.stage == "close":
            lines.append(f"  {outcome.rule.id}{tier} fired {first}")
        else:
            lines.append(f"  {outcome.rule.id}{tier} fired {first}; {held}")
    return lines


def _tier(outcome: RuleOutcome) -> str:
    """The tier's name, a rally's as such ("extreme surge"), in English."""
    assert outcome.tier is not None
    return tier_name(outcome.tier.name, "up" if outcome.rule.direction == "up" else "down", "en")


def _source(snapshot: Snapshot) -> str:
    for quote in snapshot.quotes.values():
        if isinstance(quote, Quote):
            return quote.source
    return "history"
