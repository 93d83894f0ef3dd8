"""The command registry and the one dispatcher every adapter uses.

Adapters hand over either a line of text (`/shock NVDA 2025-01-27`, Slack and the console)
or already-parsed options (Discord); both paths end in `invoke`, which checks permissions,
turns a `UserError` into a friendly card in the channel's language and any other exception
into a logged error with a reference — never a stack trace in a channel.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import logging
import shlex
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.cards import Card, Severity
from bot.domain.i18n import Locale, has_message, t
from bot.stores.port import StoreError
from handlers.base import (
    MAX_ARGUMENT_LENGTH,
    MAX_COMMAND_LENGTH,
    Command,
    Invocation,
    UserError,
    command_from,
)

log = logging.getLogger(__name__)

HANDLER_MODULES = (
    "handlers.shock",
    "handlers.quote",
    "handlers.news",
    "handlers.views",
    "handlers.subscriptions",
    "handlers.rules",
    "handlers.snooze",
    "handlers.digest",
    "handlers.channel",
    "handlers.help",
)
_SMART_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "「": '"', "」": '"'}
)


_RULE_OPERATORS = ("<", ">", "=", " and ", " or ", ".pct", ".z", ".gap")


def _looks_like_rule(word: str) -> bool:
    """`<=`, `>=`, `==`, `!=` inside a word: part of a rule, not a `name=value` option."""
    return any(op in word for op in ("<=", ">=", "==", "!="))


@dataclass(frozen=True)
class CommandRegistry:
    """Commands by name (`shock`, `subscribe alerts`)."""

    commands: Mapping[str, Command]

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands.values())

    def match(self, words: Sequence[str]) -> tuple[Command, list[str]] | None:
        """The command named by the longest prefix of `words`, and the remaining words."""
        for length in (2, 1):
            name = " ".join(word.lower() for word in words[:length])
            if len(words) >= length and name in self.commands:
                return self.commands[name], list(words[length:])
        return None

    def group(self, root: str) -> list[Command]:
        """The sub-commands of a group such as `subscribe` (empty for a plain command)."""
        return [c for c in self.commands.values() if c.name.startswith(root.lower() + " ")]

    def suggest(self, name: str) -> list[str]:
        """Close command names, for "did you mean"."""
        roots = sorted({n.split()[0] for n in self.commands})
        return difflib.get_close_matches(name.lower(), roots, n=2, cutoff=0.6)


def load_registry(modules: Iterable[str] = HANDLER_MODULES) -> CommandRegistry:
    """Collect every `@command` function from the handler modules (read once per process)."""
    return _registry(tuple(modules))


@functools.cache
def _registry(modules: tuple[str, ...]) -> CommandRegistry:
    commands: dict[str, Command] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            found = command_from(value) if callable(value) else None
            if found is not None:
                commands[found.name] = found
    return CommandRegistry(commands)


def escape_controls(text: str) -> str:
    """`text` with control and format characters shown escaped (`NV\\x00DA`), never raw."""
    return "".join(
        (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        if unicodedata.category(ch) in ("Cc", "Cf")
        else ch
        for ch in text
    )


def normalize_input(text: str) -> str:
    """What a user typed, as the parser reads it: NFKC (full-width `ＮＶＤＡ ２０２５－０１－２７`
    → `NVDA 2025-01-27`) and typographic quotes → ASCII quotes."""
    return unicodedata.normalize("NFKC", text).translate(_SMART_QUOTES)


def error_card(locale: Locale, key: str, **params: object) -> Card:
    """A friendly error reply in the channel's language (echoed input shown escaped)."""
    shown = {k: escape_controls(v) if isinstance(v, str) else v for k, v in params.items()}
    text = t(key, locale, **shown) if has_message(key) else key
    return Card(title=t("error.title", locale), severity=Severity.ERROR, text=text)


def split_command(text: str) -> list[str]:
    """Words of a command line; quotes group a rule (smart quotes too)."""
    cleaned = normalize_input(text).strip()
    if cleaned.startswith("/"):
        cleaned = cleaned[1:]
    try:
        return shlex.split(cleaned)
    except ValueError:
        raise UserError("error.unbalanced_quotes") from None


def bind_arguments(command: Command, words: Sequence[str], locale: Locale = "en") -> dict[str, Any]:
    """Positional words and `name=value` words → keyword arguments, checked."""
    names = {param.name: param for param in command.params}
    values: dict[str, Any] = {}
    positional: list[str] = []
    words = [normalize_input(word) for word in words]
    for word in words:
        key, sep, given = word.partition("=")
        if sep and key.lower() in names and not names[key.lower()].variadic:
            values[key.lower()] = given
        else:
            positional.append(word)
    for param in command.params:
        if param.variadic:
            values[param.name] = tuple(positional)
            positional = []
        elif param.name not in values and positional:
            values[param.name] = positional.pop(0)
    if positional:
        rule_param = next((p for p in command.params if p.name == "rule"), None)
        if rule_param is not None and any(op in " ".join(words) for op in _RULE_OPERATORS):
            start = words.index(values["rule"]) if values.get("rule") in words else 0
            rule_words = [w for w in words[start:] if "=" not in w or _looks_like_rule(w)]
            raise UserError(
                "error.quote_rule", example=f'"{" ".join(rule_words)}"', usage=command.usage(locale)
            )
        raise UserError(
            "error.too_many_arguments", usage=command.usage(locale), extra=" ".join(positional)
        )
    for param in command.params:
        value = values.get(param.name)
        if param.required and (value is None or value == () or value == ""):
            raise UserError(
                "error.missing_argument",
                name=param.label(locale),
                usage=command.usage(locale),
            )
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str) and len(item) > MAX_ARGUMENT_LENGTH:
                raise UserError(
                    "error.argument_too_long",
                    name=param.label(locale),
                    length=len(item),
                    limit=MAX_ARGUMENT_LENGTH,
                )
        if param.kind == "integer" and isinstance(value, str):
            if not value.lstrip("-").isdigit():
                raise UserError("error.not_a_number", name=param.name, text=value[:40])
            values[param.name] = int(value)
    return values


async def invoke(command: Command, invocation: Invocation, words: Sequence[str]) -> Card:
    """Run a command; user errors become friendly cards, bugs a logged reference."""
    try:
        checked = bind_arguments(command, words, invocation.locale)
        if command.admin_only and not invocation.can_admin:
            raise UserError("error.permission_denied")
        variadic = [p.name for p in command.params if p.variadic]
        rest = checked.pop(variadic[0], ()) if variadic else ()
        return await command.handler(invocation, *rest, **checked)
    except UserError as exc:
        return error_card(invocation.locale, exc.key, **exc.params)
    except StoreError as exc:
        log.warning("command /%s: store unavailable: %s", command.name, exc)
        return error_card(invocation.locale, "error.store_unavailable")
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("command /%s failed (ref %s)", command.name, reference)
        return error_card(invocation.locale, "error.internal_ref", ref=reference)


async def invoke_options(
    command: Command, invocation: Invocation, options: Mapping[str, Any]
) -> Card:
    """Run a command from a platform's parsed options (Discord)."""
    words: list[str] = []
    for param in command.params:
        value = options.get(param.name)
        if value is None:
            continue
        if param.variadic:
            items = value if isinstance(value, list | tuple) else str(value).split()
            words.extend(str(item) for item in items)
        else:
            words.append(f"{param.name}={value}")
    return await invoke(command, invocation, words)


def find_command(registry: CommandRegistry, text: str) -> Command | None:
    """The command a command line names (None when it names none or does not parse)."""
    try:
        words = split_command(text)
    except UserError:
        return None
    found = registry.match(words)
    return found[0] if found is not None else None


async def dispatch_text(registry: CommandRegistry, invocation: Invocation, text: str) -> Card:
    """Run a command line such as `/shock NVDA 2025-01-27`."""
    locale = invocation.locale
    if len(text) > MAX_COMMAND_LENGTH:
        return error_card(
            locale, "error.command_too_long", length=len(text), limit=MAX_COMMAND_LENGTH
        )
    try:
        words = split_command(text)
    except UserError as exc:
        return error_card(locale, exc.key, **exc.params)
    if not words:
        return error_card(locale, "error.unknown_command", name="", suggestion="/help")
    found = registry.match(words)
    if found is None and (members := registry.group(words[0])):
        usages = " · ".join(member.usage(locale) for member in members)
        return error_card(locale, "error.choose_subcommand", usages=usages)
    if found is None:
        hints = registry.suggest(words[0])
        suggestion = " / ".join(f"/{name}" for name in hints) if hints else "/help"
        return error_card(
            locale, "error.unknown_command", name=words[0][:40], suggestion=suggestion
        )
    command, rest = found
    return await invoke(command, invocation, rest)
