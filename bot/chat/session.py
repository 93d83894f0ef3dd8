"""Running one command line for one channel: the path console, harness and Slack share."""

from __future__ import annotations

from bot.domain.cards import Card
from bot.domain.i18n import Locale
from bot.domain.model import Channel, ChannelRef
from bot.ports.store import StoreError
from bot.services import Services
from handlers.base import Invocation
from handlers.registry import CommandRegistry, dispatch_text


async def stored_channel(services: Services, channel: ChannelRef) -> Channel | None:
    """The channel's stored settings; None when it has none or the store is down."""
    try:
        return await services.store.get_channel(channel)
    except StoreError:
        return None


async def channel_locale(services: Services, channel: ChannelRef, default: Locale) -> Locale:
    """The channel's stored language, else `default` (also when the store is down)."""
    found = await stored_channel(services, channel)
    return found.language if found is not None else default


async def run_command_line(
    services: Services,
    registry: CommandRegistry,
    channel: ChannelRef,
    text: str,
    *,
    user_id: str,
    can_admin: bool,
    default_locale: Locale = "en",
    user_name: str = "",
) -> Card:
    """Run `text` as `user_id` in `channel` and return the Card to render."""
    locale = await channel_locale(services, channel, default_locale)
    invocation = Invocation(user_id, channel, locale, can_admin, services, user_name)
    return await dispatch_text(registry, invocation, text)
