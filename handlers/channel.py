"""`/history` (recent alerts here) and `/lang ko|en` (this channel's language)."""

from __future__ import annotations

from typing import Annotated, Literal

from bot.domain.cards import Card, CardField
from bot.domain.i18n import (
    LocaleError,
    format_date,
    format_datetime,
    has_message,
    parse_locale,
    t,
)
from bot.stores.port import Channel
from handlers.base import Invocation, UserError, command

HISTORY_LIMIT = 10


@command("history")
async def history(inv: Invocation) -> Card:
    """Recent alerts sent to this channel."""
    locale = inv.locale
    events = await inv.services.store.alert_history(inv.channel, limit=HISTORY_LIMIT)
    presets = inv.services.core.presets
    fields = []
    for event in events:
        rule = presets.get(event.rule_id)
        name = rule.description(locale) if rule else event.rule_id
        tier = event.severity
        if has_message(f"tier.{tier}"):
            tier = t(f"tier.{tier}", locale)
        fields.append(
            CardField(
                f"{format_date(event.session, locale)} · {event.rule_id} [{tier}]",
                f"{name}\n{format_datetime(event.fired_at, locale)}",
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
    if await store.get_channel(inv.channel) is None:
        zone = "Asia/Seoul" if chosen == "ko" else "UTC"
        await store.upsert_channel(Channel(inv.channel, language=chosen, timezone=zone))
    else:
        await store.set_language(inv.channel, chosen)
    return Card(title=t("lang.title", chosen), text=t("lang.set", chosen))
