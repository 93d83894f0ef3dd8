"""`/rules list|add|remove|test`: presets, this channel's own rules, and quick backtests."""

from __future__ import annotations

import re
from typing import Annotated

from bot.domain.backtest import run_backtest
from bot.domain.cards import Card, CardField, Severity
from bot.domain.formatting import format_metric
from bot.domain.i18n import Locale, format_date, t
from bot.domain.model import Subscription
from bot.domain.rules.canonical import custom_rule_id
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import footer, move, parse_user_rule, policy_text, rule_data_warning
from handlers.rulebook import channel_rules
from handlers.subscriptions import ensure_channel, parse_policy, replaced_note

_NAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")
LAST_FIRINGS = 5


def _state(subscription: Subscription | None, name: str, locale: Locale) -> str:
    """`(once per session)`, with ` — muted` or, for a saved rule not subscribed, ` — off`."""
    if subscription is None:
        return t("rules.off", locale, name=name)
    state = f"({policy_text(subscription.policy, locale)})"
    return state + (" — " + t("rules.muted", locale) if subscription.muted else "")


@command("rules list")
async def rules_list(inv: Invocation) -> Card:
    """The built-in presets and this channel's own rules."""
    locale = inv.locale
    presets = inv.services.core.presets
    preset_lines = "\n".join(
        f"• {rule.id}: {rule.text} — {rule.description(locale)}" for rule in presets.values()
    )
    book = await channel_rules(inv)
    subscribed = [
        s.rule_id + (f" ({t('rules.muted', locale)})" if s.muted else "")
        for s in book.subscriptions
        if s.rule_id in presets and not s.expression
    ]
    lines = [
        f"• {name}: {text} {_state(book.saved_subscription(name), name, locale)}"
        for name, text in book.saved.items()
    ]
    lines += [
        f"• {book.label(s)} {_state(s, '', locale)}"
        for s in book.subscriptions
        if s.expression and book.name_of(s) not in book.saved
    ]
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
                t("rules.custom", locale), "\n".join(lines) or t("rules.none", locale), inline=False
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
    book = await channel_rules(inv)
    twin = next((n for n, text in book.saved.items() if text == checked.text and n != name), None)
    if twin is not None:
        raise UserError("error.rule_already_saved", name=twin)
    before = book.saved_subscription(name) if name in book.saved else book.get(name)
    subscription = Subscription(
        inv.channel, custom_rule_id(checked.text), expression=checked.text, policy=trigger
    )
    same = book.get(subscription.rule_id)
    others = [
        s for s in book.reading(checked.text) if s.rule_id not in (subscription.rule_id, name)
    ]
    if others:
        raise UserError("error.already_subscribed_as", name=book.label(others[0]))
    await ensure_channel(inv)
    notes = [
        await replaced_note(inv, subscription, before or same),
        rule_data_warning(inv, checked),
    ]
    store = inv.services.store
    if before is not None and before.rule_id != subscription.rule_id:
        await store.remove_subscription(inv.channel, "alert", before.rule_id)
    await store.save_rule(inv.channel, name, checked.text)
    await store.add_subscription(subscription)
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
    """Delete one of this channel's saved rules and its alerts."""
    book = await channel_rules(inv)
    subscription = book.saved_subscription(name) if name in book.saved else book.get(name)
    if name not in book.saved and (subscription is None or not subscription.expression):
        raise UserError("error.no_such_rule", name=name[:60])
    store = inv.services.store
    if subscription is not None:
        await store.remove_subscription(inv.channel, "alert", subscription.rule_id)
    await store.delete_rule(inv.channel, name)
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
