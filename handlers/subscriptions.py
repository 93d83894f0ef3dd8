"""`/subscribe alerts|digest …` and `/unsubscribe alerts|digest …` (channel admins only)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from bot.domain.cards import Card, Severity
from bot.domain.i18n import Locale, format_date, t
from bot.domain.sessions import SessionError, parse_day
from bot.domain.zones import ZoneError, parse_zone
from bot.stores.port import Channel, Subscription, TriggerPolicy, language_zone
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import parse_user_rule, policy_text, rule_data_warning

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DEFAULT_DIGEST_TIME = "08:00"
CUSTOM_PREFIX = "custom:"


async def ensure_channel(inv: Invocation) -> None:
    """Create the channel record (with the invocation's language) on first use."""
    store = inv.services.store
    if await store.get_channel(inv.channel) is None:
        await store.upsert_channel(Channel(inv.channel, language=inv.locale))


def parse_policy(text: str | None) -> TriggerPolicy:
    """once | session | cooldown=30m (default: once per session); a cooldown over the
    365-day cap is refused as such."""
    try:
        return TriggerPolicy.parse(text or "")
    except ValueError as exc:
        if "365 days" in str(exc):
            raise UserError("error.cooldown_too_long", text=(text or "")[:40]) from None
        raise UserError("error.bad_policy", text=(text or "")[:40]) from None


async def replaced_note(inv: Invocation, new: Subscription) -> str:
    """What an alert subscription replaces in this channel ("" when it is new or the same)."""
    existing = await inv.services.store.list_subscriptions(inv.channel)
    old = next((s for s in existing if s.kind == new.kind and s.rule_id == new.rule_id), None)
    if old is None:
        return ""
    locale = inv.locale
    changes = []
    if (old.expression or "") != (new.expression or ""):
        changes.append(t("subscribe.replaced_rule", locale, rule=old.expression or old.rule_id))
    if old.policy != new.policy:
        changes.append(
            t("subscribe.replaced_policy", locale, policy=policy_text(old.policy, locale))
        )
    if old.expires != new.expires:
        until = format_date(old.expires, locale) if old.expires else t("subscribe.forever", locale)
        changes.append(t("subscribe.replaced_until", locale, until=until))
    if not changes:
        return t("subscribe.unchanged", locale)
    return t("subscribe.replaced", locale, changes=", ".join(changes))


def parse_until(text: str | None, today: date, locale: Locale) -> date | None:
    """An optional expiry date (inclusive), not in the past."""
    if text is None:
        return None
    try:
        day = parse_day(text)
    except SessionError:
        raise UserError("error.bad_until", text=text[:40]) from None
    if day < today:
        raise UserError("error.until_in_past", date=format_date(day, locale))
    return day


@command("subscribe alerts", admin_only=True)
async def subscribe_alerts(
    inv: Invocation,
    rule: Annotated[
        str, 'A preset (deepseek) or a quoted rule ("SOX.pct <= -5")', Autocomplete("presets")
    ],
    policy: Annotated[
        str | None, "once | session | cooldown=30m (default: session)", Autocomplete("policies")
    ] = None,
    until: Annotated[str | None, "Last day to alert, YYYY-MM-DD"] = None,
) -> Card:
    """Alert this channel when a preset or a custom rule fires."""
    locale = inv.locale
    presets = inv.services.core.presets
    trigger = parse_policy(policy)
    expires = parse_until(until, inv.services.clock.now().date(), locale)
    if rule in presets:
        subscription = Subscription(inv.channel, rule, policy=trigger, expires=expires)
        shown = rule
    elif re.fullmatch(r"[a-z_]{2,40}", rule):
        raise UserError("error.unknown_preset", name=rule, presets=", ".join(presets))
    else:
        checked = parse_user_rule(inv, rule)
        rule_id = CUSTOM_PREFIX + checked.text.strip()
        subscription = Subscription(
            inv.channel,
            rule_id[:200].replace("|", "/"),
            expression=checked.text,
            policy=trigger,
            expires=expires,
        )
        shown = checked.text
    await ensure_channel(inv)
    notes = [await replaced_note(inv, subscription)]
    if subscription.expression:
        notes.append(rule_data_warning(inv, checked))
    await inv.services.store.add_subscription(subscription)
    until_text = format_date(expires, locale) if expires else t("subscribe.forever", locale)
    text = t(
        "subscribe.alerts_added",
        locale,
        rule=shown,
        policy=policy_text(trigger, locale),
        until=until_text,
    )
    return Card(
        title=t("subscribe.alerts_title", locale),
        severity=Severity.INFO,
        text=" ".join([text, *(note for note in notes if note)]),
    )


@command("subscribe digest", admin_only=True)
async def subscribe_digest(
    inv: Invocation,
    time: Annotated[str | None, "HH:MM (default 08:00)"] = None,
    zone: Annotated[str | None, "Time zone, e.g. Asia/Seoul (default: the channel's)"] = None,
) -> Card:
    """Send this channel a daily digest at a time of day."""
    locale = inv.locale
    at = time or DEFAULT_DIGEST_TIME
    match = _TIME_RE.match(at)
    if not match:
        raise UserError("error.bad_time", text=at[:20])
    at = f"{int(match.group(1)):02d}:{match.group(2)}"
    channel = await inv.services.store.get_channel(inv.channel)
    default_zone = channel.zone_name if channel is not None else language_zone(locale)
    try:
        name = parse_zone(zone) if zone else default_zone
    except ZoneError as exc:
        hint = ", ".join(exc.suggestions) or "Asia/Seoul, America/New_York"
        raise UserError("error.bad_timezone_hint", text=exc.text[:40], hint=hint) from None
    await ensure_channel(inv)
    await inv.services.store.add_subscription(
        Subscription(inv.channel, "digest", kind="digest", digest_time=at, digest_zone=name)
    )
    return Card(
        title=t("subscribe.digest_title", locale),
        severity=Severity.INFO,
        text=t("subscribe.digest_added", locale, time=at, zone=name),
    )


@command("unsubscribe alerts", admin_only=True)
async def unsubscribe_alerts(
    inv: Invocation,
    rule: Annotated[str, "The preset or quoted rule to stop", Autocomplete("presets")],
) -> Card:
    """Stop alerts for a preset or custom rule in this channel."""
    store = inv.services.store
    candidates = [rule, CUSTOM_PREFIX + rule.strip()]
    for rule_id in candidates:
        if await store.remove_subscription(inv.channel, "alert", rule_id.replace("|", "/")):
            return Card(
                title=t("subscribe.removed_title", inv.locale),
                text=t("subscribe.removed", inv.locale, name=rule),
            )
    raise UserError("error.not_subscribed", name=rule[:60])


@command("unsubscribe digest", admin_only=True)
async def unsubscribe_digest(inv: Invocation) -> Card:
    """Stop this channel's daily digest."""
    if not await inv.services.store.remove_subscription(inv.channel, "digest", "digest"):
        raise UserError("error.not_subscribed", name=t("subscribe.digest_name", inv.locale))
    return Card(
        title=t("subscribe.removed_title", inv.locale),
        text=t("subscribe.removed", inv.locale, name=t("subscribe.digest_name", inv.locale)),
    )
