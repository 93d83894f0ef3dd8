"""`python -m bot backtest EXPR_OR_PRESET`: every session in the history where a rule fired."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.cli import UsageError
from bot.cli.common import load_core, parse_cli_day, pct
from bot.domain.backtest import Backtest, BacktestError, run_backtest
from bot.domain.formatting import format_metric
from bot.domain.price_metrics import FORWARD_HORIZONS
from bot.domain.rules.checks import decidable_on_its_face
from bot.domain.rules.parser import RuleError
from bot.domain.rules.presets import Rule, custom_rule


def register(subparsers: Any) -> None:
    """Add the `backtest` sub-command."""
    parser = subparsers.add_parser(
        "backtest", help="list every session where a rule or preset fired, and what followed"
    )
    parser.add_argument("rule", help='a preset name (deepseek) or a rule ("SOX.pct <= -5")')
    parser.add_argument("--from", dest="start", metavar="DATE", help="first session (inclusive)")
    parser.add_argument("--to", dest="end", metavar="DATE", help="last session (inclusive)")
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="a directory of CSV files instead of the shipped history",
    )
    parser.add_argument(
        "--at",
        choices=("close", "open"),
        default="close",
        help="evaluate each session's close (default) or its opening print (where opens are known)",
    )
    parser.add_argument("--json", action="store_true", help="print only a JSON array")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the backtest and print it."""
    start, end = parse_cli_day(args.start, "--from"), parse_cli_day(args.end, "--to")
    if start is not None and end is not None and start > end:
        raise UsageError(f"--from {start.date()} is after --to {end.date()}")
    core = load_core(args, args.data)
    rule = resolve_rule(args.rule, core.presets, core.market.symbols)
    try:
        result = run_backtest(core.market, rule, start, end, at=args.at)
    except BacktestError as exc:
        where = f" in {args.data}" if args.data else ""
        raise UsageError(f"{exc}{where}") from None
    if result.sessions_tested == 0:
        first = start.date() if start is not None else "…"
        span = f"{first} … {end.date() if end is not None else '…'}"
        raise UsageError(f"no session with data for the rule's symbols in {span}")
    if args.json:
        print(json.dumps(firings_json(result), ensure_ascii=False, allow_nan=False))
    else:
        print("\n".join(render_backtest(result)))
    return 0


def resolve_rule(text: str, presets: dict[str, Rule], symbols: Any) -> Rule:
    """A preset by name, or a rule expression; a rule no prices could decide is refused."""
    if text.strip() in presets:
        return presets[text.strip()]
    try:
        rule = custom_rule(text, symbols)
    except RuleError as exc:
        known = ", ".join(presets)
        raise UsageError(f"{exc}\n{exc.caret()}\n(presets: {known})") from None
    if not decidable_on_its_face(rule.tree):
        raise UsageError(
            f"{rule.text}: can never be decided, whatever the prices (divides by zero?)"
        )
    return rule


def firings_json(result: Backtest) -> list[dict[str, Any]]:
    """One object per firing session: the rule's inputs as evaluated, every symbol's move
    and what followed, in percent (z in sigmas); null where unknown."""
    return [
        {
            "date": firing.date.date().isoformat(),
            "at": result.at,
            "inputs": firing.inputs,
            "moves": firing.moves,
            "forward": {
                label: {str(h): value for h, value in horizons.items()}
                for label, horizons in firing.forward.items()
            },
            "proxies": firing.proxies,
        }
        for firing in result.firings
    ]


AT_TEXT = {
    "close": "evaluated at each session's close (--at open: at its opening print)",
    "open": "evaluated at each session's opening print, where the open is known",
}


def render_backtest(result: Backtest) -> list[str]:
    """Human-readable table (the rule's inputs as evaluated, what followed) and summary."""
    rule = result.rule
    labels = list(result.summary)
    span = "no sessions"
    if result.first is not None and result.last is not None:
        span = f"{result.first.date()} … {result.last.date()}"
    lines = [
        f"Backtest {rule.id}: {rule.text}",
        f"{result.sessions_tested} sessions tested ({span}), {AT_TEXT[result.at]}; "
        f"{result.unknown_sessions} undecidable (inputs unavailable)",
        f"Sources: {', '.join(result.sources) or 'none'}",
        "",
    ]
    if not result.firings:
        return [*lines, "No session matched."]
    width = max(12, *(len(name) + 1 for name in result.inputs))
    head = "  ".join(f"{name:>{width}}" for name in result.inputs)
    fwd = "  ".join(f"{labels[0] + ' +' + str(h) + 'd':>12}" for h in FORWARD_HORIZONS)
    lines.append(f"{'date':<10}  {head}  {fwd}")
    for firing in result.firings:
        values = "  ".join(
            f"{_input(result, name, firing.inputs[name]):>{width}}" for name in result.inputs
        )
        forward = "  ".join(f"{pct(firing.forward[labels[0]][h]):>12}" for h in FORWARD_HORIZONS)
        proxies = ", ".join(f"{label} via {proxy}" for label, proxy in firing.proxies.items())
        lines.append(
            f"{firing.date.date()}  {values}  {forward}" + (f"  ({proxies})" if proxies else "")
        )
    lines += ["", f"Fired on {len(result.firings)} session(s)."]
    for label, horizons in result.summary.items():
        parts = []
        for horizon, item in horizons.items():
            share = item.rebound_share
            share_text = "n/a" if share is None else f"{share * 100:.0f} % up"
            parts.append(f"+{horizon}d: median {pct(item.median)}, {share_text} (n={item.known})")
        lines.append(f"  {label}: " + "; ".join(parts))
    return lines


def _input(result: Backtest, name: str, value: float | None) -> str:
    """One input as evaluated, with the digits its thresholds need."""
    metric = name.rsplit(".", 1)[1]
    return format_metric(metric, value, "en", thresholds=result.thresholds.get(name, ()))
