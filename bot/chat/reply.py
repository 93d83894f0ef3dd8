"""One reply path: run a command for a channel and return what to send back.

Every platform adapter (Discord, Slack, the console, the test harness) calls `reply`; the
adapter only parses its own input (a command line, slash-command options, mention markup),
renders the `Reply` and sends it. The sequence is written once here: the channel's stored
settings → the language to answer in → run the command → read the channel again (the
command may have created it or changed its language or zone) → the time zone → private
when the card is an error or the command says its replies are private (`/help`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.cards import Card, Severity
from bot.domain.i18n import Locale
from bot.domain.model import Channel, ChannelRef, language_zone
from bot.services import Services
from bot.stores.port import StoreError
from handlers.base import Command, Invocation
from handlers.registry import CommandRegistry, dispatch_text, find_command, invoke_options

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who runs the command: their id, channel-admin rights, own language (when the platform
    tells it; used where the channel has none stored) and display name."""

    user_id: str
    can_admin: bool
    locale: Locale | None = None
    name: str = ""


@dataclass(frozen=True)
class Options:
    """A command the platform already parsed into options (Discord's slash commands)."""

    command: Command
    values: Mapping[str, Any] = field(default_factory=dict)


Request = str | Options
"""A command line (`shock NVDA 2025-01-27`) or a parsed command with its options."""


@dataclass(frozen=True)
class Reply:
    """What to send: the card, whether only the caller sees it, and the language and time
    zone (an IANA name) to render it in."""

    card: Card
    private: bool
    locale: Locale
    zone: str


async def stored_channel(services: Services, channel: ChannelRef) -> Channel | None:
    """The channel's stored settings; None when it has none or the store is down."""
    try:
        return await services.store.get_channel(channel)
    except StoreError as exc:
        log.warning(
            "channel %s: store unavailable (%s); replying without its settings", channel, exc
        )
        return None


async def channel_locale(services: Services, channel: ChannelRef, default: Locale) -> Locale:
    """The channel's stored language, else `default` (also when the store is down)."""
    found = await stored_channel(services, channel)
    return found.language if found is not None else default


def command_of(registry: CommandRegistry, request: Request) -> Command | None:
    """The command a request runs (None for a line that names none)."""
    return request.command if isinstance(request, Options) else find_command(registry, request)


async def reply(
    services: Services,
    registry: CommandRegistry,
    channel: ChannelRef,
    request: Request,
    caller: Caller,
) -> Reply:
    """Run `request` as `caller` in `channel` and return the reply to send."""
    before = await stored_channel(services, channel)
    locale = before.language if before is not None else caller.locale or "en"
    invocation = Invocation(
        caller.user_id, channel, locale, caller.can_admin, services, caller.name
    )
    if isinstance(request, Options):
        card = await invoke_options(request.command, invocation, request.values)
    else:
        card = await dispatch_text(registry, invocation, request)
    after = await stored_channel(services, channel) or before
    if after is not None:
        locale = after.language
    zone = after.zone_name if after is not None else language_zone(locale)
    command = command_of(registry, request)
    private = card.severity is Severity.ERROR or (command is not None and command.private)
    return Reply(card, private, locale, zone)
