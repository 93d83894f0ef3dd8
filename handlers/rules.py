"""`/rules list|add|remove|test`: presets, this channel's own rules, and quick backtests."""

from __future__ import annotations

import re
from typing import Annotated

from bot.domain.backtest import run_backtest
from bot.domain.cards import Card, CardField, Severity
from bot.domain.formatting import format_metric
from bot.domain.i18n import format_date, t
from bot.stores.port import Subscription
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import footer, move, parse_user_rule, policy_text, rule_data_warning
from handlers.subscriptions import CUSTOM_PREFIX, ensure_channel, parse_policy, replaced_note

_NAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")
LAST_FIRINGS = 5


def _shown_name(rule_id: str, expression: str | None) -> str:
    """`name: RULE` for a named rule; just the rule for one subscribed by its text."""
    if rule_id.startswith(CUSTOM_PREFIX) or not expression:
        return expression or rule_id.removeprefix(CUSTOM_PREFIX)
    return f"{rule_id}: {expression}"


@command("rules list")
async def rules_list(inv: Invocation) -> Card:
    """The built-in presets and this channel's own rules."""
    locale = inv.locale
    presets = inv.services.core.presets
    preset_lines = "\n".join(
        f"• {rule.id}: {rule.text} — {rule.description(locale)}" for rule in presets.values()
    )
    subscriptions = await inv.services.store.list_subscriptions(inv.channel)
    custom = [s for s in subscriptions if s.kind == "alert" and s.expression]
    subscribed = [s.rule_id for s in subscriptions if s.kind == "alert" and not s.expression]
    custom_lines = "\n".join(
        f"• {_shown_name(s.rule_id, s.expression)} ({policy_text(s.policy, locale)})"
        for s in custom
    )
    return Card(
        title=t("rules.list_title", locale),
        fields=(
            CardField(t("rules.presets", locale), preset_lines, inline=False),
            CardField(
                t("rules.subscribed", locale),
                ", ".join(subscribed) or t("rules.none", locale),
                inline=False,
            ),
            CardField(
                t("rules.custom", locale), custom_lines or t("rules.none", locale), inline=False
            ),
        ),
    )


@command("rules add", admin_only=True)
async def rules_add(
    inv: Invocation,
    name: Annotated[str, "A name for the rule: lowercase letters, digits, _"],
    rule: Annotated[str, 'The rule, quoted: "NVDA.pct - SOX.pct <= -5"'],
    policy: Annotated[str | None, "once | session | cooldown=30m", Autocomplete("policies")] = None,
) -> Card:
    """Save a custom rule for this channel and alert on it."""
    if not _NAME_RE.match(name):
        raise UserError("error.bad_rule_name", name=name[:40])
    if name in inv.services.core.presets:
        raise UserError("error.rule_name_taken", name=name)
    checked = parse_user_rule(inv, rule)
    trigger = parse_policy(policy)
    await ensure_channel(inv)
    subscription = Subscription(inv.channel, name, expression=checked.text, policy=trigger)
    notes = [await replaced_note(inv, subscription), rule_data_warning(inv, checked)]
    await inv.services.store.add_subscription(subscription)
    text = t(
        "rules.added",
        inv.locale,
        name=name,
        rule=checked.text,
        policy=policy_text(trigger, inv.locale),
    )
    return Card(
        title=t("rules.added_title", inv.locale),
        severity=Severity.INFO,
        text=" ".join([text, *(note for note in notes if note)]),
    )


@command("rules remove", admin_only=True)
async def rules_remove(
    inv: Invocation, name: Annotated[str, "The rule's name", Autocomplete("rules")]
) -> Card:
    """Delete one of this channel's custom rules."""
    if not await inv.services.store.remove_subscription(inv.channel, "alert", name):
        raise UserError("error.no_such_rule", name=name[:60])
    return Card(
        title=t("rules.removed_title", inv.locale), text=t("rules.removed", inv.locale, name=name)
    )


@command("rules test")
async def rules_test(
    inv: Invocation,
    rule: Annotated[
        str, 'A preset or a quoted rule: "SOX.pct <= -5 and DJI.pct > 0"', Autocomplete("presets")
    ],
) -> Card:
    """Backtest a rule over the whole history and show its last five firings."""
    locale = inv.locale
    core = inv.services.core
    checked = core.presets.get(rule) or parse_user_rule(inv, rule)
    warning = rule_data_warning(inv, checked)
    if warning:  # no history to backtest on: say so rather than fail
        return Card(title=t("rules.test_title", locale, rule=checked.text), text=warning)
    result = run_backtest(core.market, checked)
    if result.sessions_tested and result.unknown_sessions == result.sessions_tested:
        raise UserError("rules.undecidable")
    labels = list(result.summary)
    lines = []
    for firing in reversed(result.firings[-LAST_FIRINGS:]):
        inputs = ", ".join(
            f"{name} "
            + format_metric(
                name.rsplit(".", 1)[1],
                value,
                locale,
                thresholds=result.thresholds.get(name, ()),
            )
            for name, value in firing.inputs.items()
        )
        after = t(
            "rules.after", locale, move=move(firing.forward[labels[0]][5], locale), symbol=labels[0]
        )
        proxies = ", ".join(f"{k}→{v}" for k, v in firing.proxies.items())
        lines.append(
            f"• {format_date(firing.date.date(), locale)}: {inputs}; {after}"
            + (f" ({t('rules.via', locale, proxies=proxies)})" if proxies else "")
        )
    summary = result.summary[labels[0]][5] if labels else None
    stats = t(
        "rules.stats",
        locale,
        count=len(result.firings),
        sessions=result.sessions_tested,
        symbol=labels[0] if labels else "",
        median=move(summary.median if summary else None, locale),
        undecided=result.unknown_sessions,
        share=f"{summary.rebound_share * 100:.0f} %"
        if summary and summary.rebound_share is not None
        else t("common.na", locale),
    )
    if not result.firings:
        stats = t(
            "rules.no_match",
            locale,
            sessions=result.sessions_tested,
            undecided=result.unknown_sessions,
        )
    stats += " " + t("rules.evaluated_at_close", locale)
    return Card(
        title=t("rules.test_title", locale, rule=checked.text),
        severity=Severity.INFO,
        text=stats,
        fields=(
            CardField(
                t("rules.last_firings", locale),
                "\n".join(lines) or t("rules.never", locale),
                inline=False,
            ),
        ),
        footer=footer(
            inv, t("common.history_source", locale, symbols=", ".join(result.sources)), None
        ),
    )
