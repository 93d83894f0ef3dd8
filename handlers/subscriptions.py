"""`/subscribe alerts|digest …` and `/unsubscribe alerts|digest …` (channel admins only)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated

from bot.domain.cards import Card, Severity
from bot.domain.chain import CHAIN_SUBSCRIPTION
from bot.domain.i18n import Locale, format_date, t
from bot.domain.model import Channel, Subscription, TriggerPolicy, language_zone
from bot.domain.rules.canonical import canonical_text, custom_rule_id
from bot.domain.sessions import SessionError, parse_day
from bot.domain.zones import ZoneError, parse_zone
from handlers.base import Autocomplete, Invocation, UserError, command
from handlers.common import parse_user_rule, policy_text, rule_data_warning
from handlers.rulebook import channel_rules

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DEFAULT_DIGEST_TIME = "08:00"


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


async def replaced_note(inv: Invocation, new: Subscription, old: Subscription | None = None) -> str:
    """What an alert subscription replaces in this channel ("" when it is new): the earlier
    subscription of the same id, or `old`."""
    if old is None:
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
    if old.muted and not new.muted:
        changes.append(t("subscribe.replaced_muted", locale))
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


def unknown_rule(name: str, presets: Iterable[str], saved: Iterable[str]) -> UserError:
    """A name that is neither a preset nor one of the channel's saved rules."""
    rules = ", ".join(saved)
    if rules:
        return UserError(
            "error.unknown_preset_or_rule", name=name, presets=", ".join(presets), rules=rules
        )
    return UserError("error.unknown_preset", name=name, presets=", ".join(presets))


@command("subscribe alerts", admin_only=True)
async def subscribe_alerts(
    inv: Invocation,
    rule: Annotated[
        str,
        'A preset (deepseek), a saved rule\'s name, or a quoted rule ("SOX.pct <= -5")',
        Autocomplete("presets"),
    ],
    policy: Annotated[
        str | None, "once | session | cooldown=30m (default: session)", Autocomplete("policies")
    ] = None,
    until: Annotated[str | None, "Last day to alert, YYYY-MM-DD"] = None,
) -> Card:
    """Alert this channel when a preset, a saved rule or a custom rule fires."""
    locale = inv.locale
    presets = inv.services.core.presets
    trigger = parse_policy(policy)
    expires = parse_until(until, inv.services.clock.now().date(), locale)
    book = await channel_rules(inv)
    checked = None
    if rule in presets:
        subscription = Subscription(inv.channel, rule, policy=trigger, expires=expires)
        text, shown = canonical_text(presets[rule].tree), rule
    elif rule == CHAIN_SUBSCRIPTION:  # the whole early-warning chain, as one subscription
        subscription = Subscription(inv.channel, rule, policy=trigger, expires=expires)
        text = shown = rule
    elif rule in book.saved:
        checked = parse_user_rule(inv, book.saved[rule])
        text, shown = checked.text, f"{rule}: {checked.text}"
    elif re.fullmatch(r"[a-z_][a-z0-9_]{1,39}", rule):
        raise unknown_rule(rule, presets, book.saved)
    else:
        checked = parse_user_rule(inv, rule)
        text = shown = checked.text
    if checked is not None:
        subscription = Subscription(
            inv.channel, custom_rule_id(text), expression=text, policy=trigger, expires=expires
        )
    old = book.get(subscription.rule_id)
    others = [s for s in book.reading(text) if s.rule_id != subscription.rule_id]
    if others:
        raise UserError("error.already_subscribed_as", name=book.label(others[0]))
    if old is not None and (old.policy, old.expires, old.muted) == (trigger, expires, False):
        raise UserError("error.already_subscribed", name=shown)
    await ensure_channel(inv)
    notes = [await replaced_note(inv, subscription, old)]
    if checked is not None:
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
    rule: Annotated[str, "The preset, saved rule or quoted rule to stop", Autocomplete("presets")],
) -> Card:
    """Stop alerts for a preset or custom rule in this channel (a saved rule stays saved)."""
    book = await channel_rules(inv)
    found = book.find(inv, rule)
    if found is None or not await inv.services.store.remove_subscription(
        inv.channel, "alert", found.rule_id
    ):
        raise UserError("error.not_subscribed", name=rule[:60])
    text = t("subscribe.removed", inv.locale, name=book.label(found))
    name = book.name_of(found)
    if name in book.saved:
        text += " " + t("subscribe.kept_saved", inv.locale, name=name)
    return Card(title=t("subscribe.removed_title", inv.locale), text=text)


async def _set_muted(inv: Invocation, rule: str, muted: bool) -> Card:
    book = await channel_rules(inv)
    found = book.find(inv, rule)
    if found is None:
        raise UserError("error.not_subscribed", name=rule[:60])
    key = "mute" if muted else "unmute"
    name = book.label(found)
    if found.muted == muted:
        text = t(f"{key}.already", inv.locale, name=name)
        return Card(title=t(f"{key}.title", inv.locale), text=text)
    await inv.services.store.set_muted(inv.channel, "alert", found.rule_id, muted)
    typed = book.name_of(found) or (f'"{found.expression}"' if found.expression else found.rule_id)
    return Card(
        title=t(f"{key}.title", inv.locale),
        text=t(f"{key}.done", inv.locale, name=name, command=typed),
    )


@command("mute", admin_only=True)
async def mute(
    inv: Invocation,
    rule: Annotated[
        str, "The preset, saved rule or quoted rule to silence", Autocomplete("presets")
    ],
) -> Card:
    """Silence one subscription in this channel, keeping it (/unmute turns it back on)."""
    return await _set_muted(inv, rule, True)


@command("unmute", admin_only=True)
async def unmute(
    inv: Invocation,
    rule: Annotated[str, "The muted preset, saved rule or quoted rule", Autocomplete("presets")],
) -> Card:
    """Turn a muted subscription's alerts back on in this channel."""
    return await _set_muted(inv, rule, False)


@command("unsubscribe digest", admin_only=True)
async def unsubscribe_digest(inv: Invocation) -> Card:
    """Stop this channel's daily digest."""
    if not await inv.services.store.remove_subscription(inv.channel, "digest", "digest"):
        raise UserError("error.not_subscribed", name=t("subscribe.digest_name", inv.locale))
    return Card(
        title=t("subscribe.removed_title", inv.locale),
        text=t("subscribe.removed", inv.locale, name=t("subscribe.digest_name", inv.locale)),
    )
