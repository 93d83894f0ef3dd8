"""`/snooze 2h | until 09:30 | tomorrow | off [drop]`: pause a channel's alerts for a while."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from bot.domain.cards import Card
from bot.domain.i18n import channel_zone, format_datetime, t
from bot.domain.model import Snooze, language_zone
from bot.domain.snooze import SnoozeError, parse_snooze
from handlers.base import Invocation, UserError, command
from handlers.channel import snooze_line
from handlers.subscriptions import ensure_channel
from jobs.snooze import release_snooze


@command("snooze", admin_only=True)
async def snooze(
    inv: Invocation,
    *when: Annotated[
        str,
        "2h, 30m, until 09:30, tomorrow (08:00 the next day) or off; add drop to discard what"
        " comes meanwhile instead of one summary when it ends (at most 10 alerts, then 'and N"
        " more')",
    ],
) -> Card:
    """Pause this channel's alerts for a while; what comes meanwhile arrives as one summary."""
    locale = inv.locale
    store = inv.services.store
    now = inv.services.clock.now()
    channel = await store.get_channel(inv.channel)
    zone = channel_zone(channel.zone_name if channel else language_zone(locale))
    try:
        request = parse_snooze(when, now, zone)
    except SnoozeError as exc:
        raise UserError(exc.key, **exc.params) from None
    title = t("snooze.title", locale)
    if request.off:
        if channel is None or channel.snooze is None:
            return Card(title=title, text=t("snooze.was_off", locale))
        count = await release_snooze(inv.services, inv.channel, now)
        if channel.snooze.drop:
            after = t("snooze.off_dropped", locale)
        elif count:
            after = t("snooze.off_summary", locale, count=count)
        else:
            after = t("snooze.off_nothing", locale)
        return Card(title=title, text=f"{t('snooze.off', locale)} {after}")
    if request.until is None:
        return Card(title=title, text=snooze_line(channel, locale) or t("snooze.was_off", locale))
    await ensure_channel(inv)
    await store.set_snooze(inv.channel, Snooze(request.until.astimezone(UTC), request.drop))
    until = format_datetime(request.until, locale, tz=zone)
    mode = "snooze.on_drop" if request.drop else "snooze.on_summary"
    return Card(title=title, text=f"{t('snooze.on', locale, until=until)} {t(mode, locale)}")
