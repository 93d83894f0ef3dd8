"""`/help [COMMAND]`: every command with its description, or one command in detail."""

from __future__ import annotations

from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.i18n import Locale, has_message, t
from handlers.base import Command, Invocation, UserError, command
from handlers.channel import settings_fields
from handlers.registry import load_registry


def _description(found: Command, locale: Locale) -> str:
    key = "command." + found.name.replace(" ", "_")
    return t(key, locale) if has_message(key) else found.description


def _param_description(found: Command, name: str, default: str, locale: Locale) -> str:
    key = f"param.{found.name.replace(' ', '_')}.{name}"
    return t(key, locale) if has_message(key) else default


def _param_name(name: str, locale: Locale) -> str:
    """A parameter's placeholder as the usage line shows it: 종목 / SYMBOL."""
    key = f"param_name.{name}"
    return t(key, locale) if has_message(key) else name.upper()


@command("help", private=True)
async def help_command(
    inv: Invocation, *command: Annotated[str, "A command, e.g. shock or rules test"]
) -> Card:
    """List the commands and what they do."""
    locale = inv.locale
    registry = load_registry()
    wanted = " ".join(word.lstrip("/") for word in command).lower()
    chosen = [
        c for c in registry if wanted and (c.name == wanted or c.name.startswith(wanted + " "))
    ]
    if chosen:
        fields = []
        for found in chosen:
            params = "\n".join(
                f"• {_param_name(p.name, locale)}: "
                f"{_param_description(found, p.name, p.description, locale)}"
                for p in found.params
                if p.description
            )
            fields.append(
                CardField(
                    found.usage(locale),
                    f"{_description(found, locale)}\n{params}".strip(),
                    inline=False,
                )
            )
        return Card(title=t("help.command_title", locale, name=wanted), fields=tuple(fields))
    if wanted:
        hints = registry.suggest(wanted.split()[0])
        suggestion = " / ".join(f"/help {name}" for name in hints) if hints else "/help"
        raise UserError("error.unknown_command", name=wanted[:40], suggestion=suggestion)
    fields = [
        CardField(found.usage(locale), _description(found, locale), inline=False)
        for found in registry
    ]
    channel = await inv.services.store.get_channel(inv.channel)
    fields.extend(settings_fields(channel, locale))
    return Card(title=t("help.title", locale), text=t("help.intro", locale), fields=tuple(fields))
