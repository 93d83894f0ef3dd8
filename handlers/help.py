"""`/help`: every command with its description, in the channel's language."""

from __future__ import annotations

from bot.domain.cards import Card, CardField
from bot.domain.i18n import has_message, t
from handlers.base import Invocation, command
from handlers.registry import load_registry


@command("help")
async def help_command(inv: Invocation) -> Card:
    """List the commands and what they do."""
    locale = inv.locale
    fields = []
    for found in load_registry():
        key = "command." + found.name.replace(" ", "_")
        description = t(key, locale) if has_message(key) else found.description
        fields.append(CardField(found.usage, description, inline=False))
    return Card(title=t("help.title", locale), text=t("help.intro", locale), fields=tuple(fields))
