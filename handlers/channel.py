"""Channel settings: `/history` (recent alerts), `/lang ko|en`, `/mention ROLE|off`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from bot.domain.cards import Card, CardField
from bot.domain.i18n import (
    Locale,
    LocaleError,
    channel_zone,
    format_date,
    format_datetime,
    has_message,
    parse_locale,
    t,
)
from bot.domain.model import Channel, language_zone
from bot.domain.rules.canonical import rule_label
from bot.domain.zones import ZoneError, parse_zone
from handlers.base import Invocation, UserError, command
from handlers.rulebook import channel_rules

HISTORY_LIMIT = 10


@command("history")
async def history(inv: Invocation) -> Card:
    """Recent alerts sent to this channel."""
    locale = inv.locale
    events = await inv.services.store.alert_history(inv.channel, limit=HISTORY_LIMIT)
    presets = inv.services.core.presets
    names = {text: name for name, text in (await channel_rules(inv)).saved.items()}
    fields = []
    for event in events:
        rule = presets.get(event.rule_id)
        expression = event.payload.get("expression")
        shown = rule_label(
            event.rule_id,
            str(expression) if expression else None,
            names.get(str(expression)) if expression else None,
        )
        tier = t(f"tier.{event.severity}", locale) if has_message(f"tier.{event.severity}") else ""
        about = rule.description(locale) if rule else ""
        fields.append(
            CardField(
                f"{format_date(event.session, locale)} · {shown}" + (f" [{tier}]" if tier else ""),
                "\n".join(
                    part for part in (about, format_datetime(event.fired_at, locale)) if part
                ),
                inline=False,
            )
        )
    return Card(
        title=t("history.title", locale),
        fields=tuple(fields),
        text="" if fields else t("history.none", locale),
    )


@command("lang", admin_only=True)
async def lang(inv: Invocation, language: Annotated[Literal["ko", "en"], "ko or en"]) -> Card:
    """Set this channel's language (Korean or English)."""
    try:
        chosen = parse_locale(language)
    except LocaleError:
        raise UserError("error.bad_locale", text=language[:20]) from None
    store = inv.services.store
    current = await store.get_channel(inv.channel)
    if current is None:
        await store.upsert_channel(Channel(inv.channel, language=chosen))
    else:
        await store.set_language(inv.channel, chosen)
    own = current.timezone if current is not None else None
    note = (
        t("timezone.own", chosen, zone=own)
        if own
        else t("timezone.follows_language", chosen, zone=language_zone(chosen))
    )
    text = f"{t('lang.set', chosen)} {t('timezone.line', chosen, zone=note)}"
    return Card(title=t("lang.title", chosen), text=text)


def zone_line(channel: Channel | None, locale: Locale) -> str:
    """How the channel's zone is described: its own, or its language's default."""
    if channel is not None and channel.timezone:
        return t("timezone.own", locale, zone=channel.timezone)
    language = channel.language if channel is not None else locale
    return t("timezone.follows_language", locale, zone=language_zone(language))


@command("timezone", admin_only=True)
async def timezone(
    inv: Invocation,
    zone: Annotated[
        str | None, "A zone: Asia/Seoul, KST, ET, America/New_York … or default (the language's)"
    ] = None,
) -> Card:
    """Show or set the time zone this channel's cards, digests and charts use."""
    locale = inv.locale
    store = inv.services.store
    current = await store.get_channel(inv.channel)
    if zone is None:
        return Card(title=t("timezone.title", locale), fields=settings_fields(current, locale))
    if zone.strip().lower() in _DEFAULT_WORDS:
        chosen: str | None = None
    else:
        try:
            chosen = parse_zone(zone)
        except ZoneError as exc:
            hint = ", ".join(exc.suggestions) or "Asia/Seoul, America/New_York"
            raise UserError("error.bad_timezone_hint", text=exc.text[:40], hint=hint) from None
    if current is None:
        current = Channel(inv.channel, language=inv.locale, timezone=chosen)
        await store.upsert_channel(current)
    else:
        await store.set_timezone(inv.channel, chosen)
    updated = await store.get_channel(inv.channel)
    text = t("timezone.line", locale, zone=zone_line(updated, locale))
    return Card(title=t("timezone.title", locale), text=text)


_DEFAULT_WORDS = {"default", "auto", "기본", "기본값"}


def snooze_line(channel: Channel | None, locale: Locale) -> str | None:
    """The channel's snooze in words (for its settings card); None when it has none."""
    if channel is None or channel.snooze is None:
        return None
    zone = channel_zone(channel.zone_name)
    until = format_datetime(channel.snooze.until, locale, tz=zone)
    mode = "snooze.mode_drop" if channel.snooze.drop else "snooze.mode_summary"
    return t("snooze.state", locale, until=until, mode=t(mode, locale))


def settings_fields(channel: Channel | None, locale: Locale) -> tuple[CardField, ...]:
    """The channel's settings: language, zone (own or from the language), who alerts ping,
    and a snooze while one is on."""
    language = channel.language if channel is not None else locale
    who = (
        mention_label(channel.mention)
        if channel is not None and channel.mention
        else t("timezone.nobody", locale)
    )
    fields = [
        CardField(t("timezone.language", locale), t(f"timezone.language_{language}", locale)),
        CardField(t("timezone.zone", locale), zone_line(channel, locale), inline=False),
        CardField(t("timezone.mention", locale), who),
    ]
    snoozed = snooze_line(channel, locale)
    if snoozed is not None:
        fields.append(CardField(t("snooze.title", locale), snoozed, inline=False))
    return tuple(fields)


_GROUP_ID = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{5,25}")
_OFF = {"off", "none", "nobody", "끄기", "없음"}


def parse_mention(text: str) -> str | None:
    """Who alerts ping: `@here`, a group's id (a Discord role, a Slack user group: upper-case
    letters and digits, as the adapter hands it over after reading its platform's mention
    markup); None for `off`."""
    cleaned = text.strip()
    if cleaned.lower() in _OFF:
        return None
    if cleaned.lower() in ("@here", "here"):
        return "@here"
    if _GROUP_ID.fullmatch(cleaned):
        return cleaned
    raise UserError("error.bad_mention", text=cleaned[:40])


def mention_label(mention: str) -> str:
    """How a stored mention is shown back (no ping: cards carry plain text)."""
    return mention if mention == "@here" else f"@{mention.removeprefix('subteam^')}"


@command("mention", admin_only=True)
async def mention(
    inv: Invocation, role: Annotated[str, "The role to ping on alerts (@role, @here) or off"]
) -> Card:
    """Choose who this channel's alerts ping (nobody by default)."""
    target = parse_mention(role)
    store = inv.services.store
    if await store.get_channel(inv.channel) is None:
        await store.upsert_channel(Channel(inv.channel, language=inv.locale))
    await store.set_mention(inv.channel, target)
    text = (
        t("mention.off", inv.locale)
        if target is None
        else t("mention.set", inv.locale, who=mention_label(target))
    )
    return Card(title=t("mention.title", inv.locale), text=text)
