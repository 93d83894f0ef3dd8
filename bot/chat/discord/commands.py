"""Slash commands built from the handler registry, in a Cog, and how an interaction is answered.

One application command per registry command; `subscribe alerts` becomes the sub-command
`alerts` of the group `/subscribe`. Options keep the handlers' names and types, closed
sets become choices, open sets autocomplete; descriptions (and Korean option names) come
from the message catalog through a `Translator`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Optional

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str
from discord.ext import commands

from bot.chat.discord.render import render_card
from bot.chat.reply import Caller, Options, channel_locale, reply
from bot.domain.i18n import Locale, has_message, t
from bot.domain.model import ChannelRef
from bot.services import Services
from bot.stores.port import StoreError
from handlers.base import AutocompleteSource, Command, Param
from handlers.registry import CommandRegistry

log = logging.getLogger(__name__)

ADMIN = discord.Permissions(manage_channels=True)
DESCRIPTION_LIMIT = 100
CHOICES_LIMIT = 25
POLICY_SUGGESTIONS = ("session", "once", "cooldown=30m", "cooldown=2h", "cooldown=1d")
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
_LOCALES: dict[str, Locale] = {"ko": "ko", "en-US": "en", "en-GB": "en"}
AnyBot = commands.Bot | commands.AutoShardedBot
Autocompleter = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[Choice[str]]]]


@dataclass(frozen=True)
class CommandContext:
    """What answering a command needs: the services, the registry, which commands defer."""

    services: Services
    registry: CommandRegistry
    slow: frozenset[str] = frozenset({"shock", "rules test", "digest now"})
    defer_after: float = 1.5
    """Any other command still running after this many seconds defers (Discord allows 3 s)."""


def language_of(locale: discord.Locale | None) -> Locale | None:
    """ "ko" / "en" for a Discord locale that is Korean or English, else None."""
    return _LOCALES.get(locale.value) if locale is not None else None


def caller_language(interaction: discord.Interaction) -> Locale:
    """The user's language if Korean or English, else the guild's, else English."""
    return language_of(interaction.locale) or language_of(interaction.guild_locale) or "en"


def channel_ref(interaction: discord.Interaction) -> ChannelRef:
    """The store's reference for the interaction's channel."""
    guild = str(interaction.guild_id) if interaction.guild_id else "dm"
    return ChannelRef("discord", guild, str(interaction.channel_id))


_ROLE = re.compile(r"<@&(\d{5,25})>")


def plain_mentions(value: Any) -> Any:
    """A role mention typed into an option (`<@&123>`) as the handlers read it: the role's
    id (`123`); other values as they are."""
    return _ROLE.sub(r"\1", value) if isinstance(value, str) else value


async def answer(
    ctx: CommandContext,
    command: Command,
    interaction: discord.Interaction,
    options: dict[str, Any],
) -> None:
    """Run `command` for an interaction and send the reply: visible, or ephemeral when
    private (errors, help).

    Slow commands defer first and follow up; any other that is still running after
    `defer_after` seconds defers then (Discord wants an answer within 3 s).
    """
    deferred = command.name in ctx.slow
    if deferred:
        await interaction.response.defer(thinking=True)
    permissions = interaction.permissions
    caller = Caller(
        str(interaction.user.id),
        can_admin=bool(permissions.manage_channels or permissions.administrator),
        locale=caller_language(interaction),
        name=interaction.user.display_name,
    )
    request = Options(command, {name: plain_mentions(v) for name, v in options.items()})
    running = asyncio.ensure_future(
        reply(ctx.services, ctx.registry, channel_ref(interaction), request, caller)
    )
    if not deferred:
        done, _ = await asyncio.wait({running}, timeout=ctx.defer_after)
        if not done:
            log.info("/%s is taking long: deferring", command.name)
            await interaction.response.defer(thinking=True)
            deferred = True
    answered = await running
    kwargs: dict[str, Any] = render_card(
        answered.card, answered.locale, answered.zone
    ).send_kwargs()
    if not deferred:
        await interaction.response.send_message(ephemeral=answered.private, **kwargs)
    elif answered.private:
        # The deferred "thinking" message is public; a private reply replaces it privately.
        await interaction.delete_original_response()
        await interaction.followup.send(ephemeral=True, **kwargs)
    else:
        await interaction.followup.send(**kwargs)


def _matches(current: str, values: Iterable[tuple[str, str]]) -> list[Choice[str]]:
    """Up to 25 (label, value) pairs containing `current`, prefix matches first."""
    wanted = current.strip().lower()
    scored = []
    for label, value in values:
        text = value.lower()
        if wanted and wanted not in text and wanted not in label.lower():
            continue
        scored.append((not text.startswith(wanted), text, label, value))
    scored.sort()
    return [Choice(name=label[:100], value=value[:100]) for *_, label, value in scored][
        :CHOICES_LIMIT
    ]


def autocompleter(ctx: CommandContext, source: AutocompleteSource) -> Autocompleter:
    """The autocomplete callback for one source of values."""
    services = ctx.services

    async def complete(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        if source == "symbols":
            book = services.core.market.symbols
            aliases = sorted(book.aliases)
            shipped = services.core.market.symbols_with_data
            pairs = [(name, name) for name in aliases] + [(s, s) for s in shipped]
            return _matches(current, pairs)
        if source == "policies":
            return _matches(current, ((p, p) for p in POLICY_SUGGESTIONS))
        try:
            saved = await services.store.saved_rules(channel_ref(interaction))
        except StoreError:
            saved = {}
        pairs = [(f"{name} — {text}", name) for name, text in saved.items()]
        if source == "presets":  # a preset or a saved rule, by its name
            ref = channel_ref(interaction)
            locale = await channel_locale(services, ref, caller_language(interaction))
            presets = services.core.presets.values()
            pairs = [(f"{p.id} — {p.description(locale)}", p.id) for p in presets] + pairs
        return _matches(current, pairs)

    return complete


def _key(command: Command) -> str:
    return command.name.replace(" ", "_")


def _english(key: str, fallback: str) -> str:
    text = t(key, "en") if has_message(key) else fallback
    return (text or "…")[:DESCRIPTION_LIMIT]


def _annotation(param: Param) -> Any:
    base: Any = int if param.kind == "integer" else str
    return base if param.required else Optional[base]  # noqa: UP045 (runtime annotation)


def _choices(param: Param) -> list[Choice[str]]:
    """A closed set's values, each named in the catalog where it has a name (`/lang`)."""
    choices = []
    for value in param.choices:
        key = f"discord.choice.{param.name}_{value}"
        label = t(key, "en") if has_message(key) else value
        choices.append(Choice(name=locale_str(label, key=key), value=value))
    return choices


def app_command(ctx: CommandContext, command: Command, leaf: str) -> app_commands.Command:  # type: ignore[type-arg]
    """The discord.py command for one registry command (options from its params).

    The callback's signature lists the params (typed, optional with a None default);
    discord.py's own decorators add their descriptions, Korean names, choices and
    autocomplete callbacks.
    """

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await answer(ctx, command, interaction, options)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("interaction", kind, annotation=discord.Interaction)]
    descriptions: dict[str, str | locale_str] = {}
    renames: dict[str, str | locale_str] = {}
    completers: dict[str, Autocompleter] = {}
    closed: dict[str, list[Choice[str]]] = {}
    for param in command.params:
        default = inspect.Parameter.empty if param.required else None
        parameters.append(
            inspect.Parameter(param.name, kind, annotation=_annotation(param), default=default)
        )
        key = f"param.{_key(command)}.{param.name}"
        descriptions[param.name] = locale_str(_english(key, param.description), key=key)
        renames[param.name] = locale_str(param.name, key=f"param_name.{param.name}", name=True)
        if param.choices:
            closed[param.name] = _choices(param)
        elif param.autocomplete:
            completers[param.name] = autocompleter(ctx, param.autocomplete)
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    decorated = app_commands.describe(**descriptions)(callback)
    decorated = app_commands.rename(**renames)(decorated)
    decorated = app_commands.choices(**closed)(decorated)
    decorated = app_commands.autocomplete(**completers)(decorated)
    key = f"command.{_key(command)}"
    built: app_commands.Command = app_commands.Command(  # type: ignore[type-arg]
        name=leaf,
        description=locale_str(_english(key, command.description), key=key),
        callback=decorated,
        extras={"registry_name": command.name},
    )
    return built


def build_app_commands(ctx: CommandContext) -> list[app_commands.Command | app_commands.Group]:  # type: ignore[type-arg]
    """Every registry command as a top-level command or a group's sub-command.

    Admin-only commands and groups whose members are all admin-only carry Manage Channels
    as default member permissions (Discord ignores them on sub-commands, so the run-time
    check in the registry stays for every admin command).
    """
    built: list[app_commands.Command | app_commands.Group] = []  # type: ignore[type-arg]
    groups: dict[str, list[Command]] = {}
    for command in ctx.registry:
        root, _, leaf = command.name.partition(" ")
        if leaf:
            groups.setdefault(root, []).append(command)
            continue
        single = app_command(ctx, command, root)
        single.guild_only = True
        if command.admin_only:
            single.default_permissions = ADMIN
        built.append(single)
    for root, members in groups.items():
        key = f"discord.group.{root}"
        group = app_commands.Group(
            name=root,
            description=locale_str(_english(key, root), key=key),
            guild_only=True,
            default_permissions=ADMIN if all(m.admin_only for m in members) else None,
        )
        for member in members:
            group.add_command(app_command(ctx, member, member.name.partition(" ")[2]))
        built.append(group)
    return built


class CatalogTranslator(app_commands.Translator):
    """Korean and English descriptions and option names from the message catalog."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The catalog's text for `string`'s key in `locale` (None: Discord's default)."""
        language = language_of(locale)
        key = string.extras.get("key")
        if language is None or not key or not has_message(key):
            return None
        text = t(key, language)
        if string.extras.get("name"):
            text = text.lower()
            return text if _NAME_RE.match(text) and " " not in text else None
        return text[:DESCRIPTION_LIMIT]


class CommandsCog(commands.Cog):
    """Owns the application commands: adds them to the bot's tree on load, removes on unload."""

    def __init__(self, bot: AnyBot, ctx: CommandContext) -> None:
        self.bot = bot
        self.ctx = ctx
        self._added: list[app_commands.Command | app_commands.Group] = []  # type: ignore[type-arg]

    async def cog_load(self) -> None:
        """Build the commands from the registry and add them to the tree."""
        self._added = build_app_commands(self.ctx)
        for item in self._added:
            self.bot.tree.add_command(item, override=True)
        self.bot.tree.on_error = self.on_tree_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        """Take the commands off the tree."""
        for item in self._added:
            self.bot.tree.remove_command(item.name)

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """A failure outside the handlers (a reply that could not be sent): logged only."""
        name = interaction.command.qualified_name if interaction.command else "?"
        log.error("interaction /%s failed: %s", name, error, exc_info=error)
