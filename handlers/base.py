"""What every command shares: the invocation, the services, user errors, and `@command`.

A command is one async function: `async def shock(inv: Invocation, symbol: Annotated[str,
"..."], date: Annotated[str | None, "..."] = None) -> Card`. Its docstring's first line is its
description on every platform; `Annotated` metadata describes each parameter. `@command`
only attaches metadata — the registry collects commands when the composition root asks.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from bot.domain.cards import Card
from bot.domain.i18n import Locale, has_message, t

if TYPE_CHECKING:
    from bot.domain.model import ChannelRef
    from bot.services import Services

Handler = Callable[..., Awaitable[Card]]
MAX_ARGUMENT_LENGTH = 300
MAX_COMMAND_LENGTH = 700
_ATTRIBUTE = "__sputnik_command__"


class UserError(Exception):
    """Input the user can fix: shown as a friendly reply from the message catalog."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)


@dataclass(frozen=True)
class Invocation:
    """Who ran a command, where, in which language, and whether they administer the channel."""

    user_id: str
    channel: ChannelRef
    locale: Locale
    can_admin: bool
    services: Services
    user_name: str = ""


ParamKind = Literal["text", "integer"]
AutocompleteSource = Literal["symbols", "presets", "policies", "rules"]


@dataclass(frozen=True)
class Autocomplete:
    """`Annotated` metadata: the open set a parameter's values come from (for autocomplete)."""

    source: AutocompleteSource


@dataclass(frozen=True)
class Param:
    """One typed parameter of a command."""

    name: str
    kind: ParamKind
    required: bool
    variadic: bool
    description: str
    default: Any = None
    choices: tuple[str, ...] = ()
    """The closed set of values (from a `Literal` hint), e.g. ("ko", "en")."""
    autocomplete: AutocompleteSource | None = None
    """Where suggestions come from for an open set (symbols, presets, policies, rules)."""

    def label(self, locale: Locale = "en") -> str:
        """The placeholder in usage lines: `SYMBOL` / `종목`."""
        key = f"param_name.{self.name}"
        return t(key, locale) if has_message(key) else self.name.upper()


@dataclass(frozen=True)
class Command:
    """A registered command: its name (`shock`, `subscribe alerts`), handler and parameters."""

    name: str
    handler: Handler
    params: tuple[Param, ...]
    description: str
    admin_only: bool
    private: bool = False
    """Its replies are shown to the caller only (`/help`); errors always are."""

    def usage(self, locale: Locale = "en") -> str:
        """`/shock SYMBOL [DATE]` (Korean: `/shock 종목 [날짜]`)."""
        parts = [f"/{self.name}"]
        for param in self.params:
            label = param.label(locale) + ("…" if param.variadic else "")
            parts.append(label if param.required else f"[{label}]")
        return " ".join(parts)


@dataclass(frozen=True)
class _Marker:
    name: str
    admin_only: bool
    private: bool


def command(
    name: str, *, admin_only: bool = False, private: bool = False
) -> Callable[[Handler], Handler]:
    """Mark an async function as the command `name` (words separated by spaces);
    `private`: its replies are shown to the caller only."""

    def mark(function: Handler) -> Handler:
        setattr(function, _ATTRIBUTE, _Marker(name, admin_only, private))
        return function

    return mark


def _param_from(parameter: inspect.Parameter, hint: Any) -> Param:
    description = ""
    source: AutocompleteSource | None = None
    if typing.get_origin(hint) is Annotated:
        hint, *metadata = typing.get_args(hint)
        description = next((m for m in metadata if isinstance(m, str)), "")
        source = next((m.source for m in metadata if isinstance(m, Autocomplete)), None)
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    choices: tuple[str, ...] = ()
    if typing.get_origin(hint) is Literal:
        choices = tuple(str(value) for value in typing.get_args(hint))
        hint = str
    kind: ParamKind = "integer" if hint is int else "text"
    variadic = parameter.kind is inspect.Parameter.VAR_POSITIONAL
    has_default = parameter.default is not inspect.Parameter.empty
    return Param(
        name=parameter.name,
        kind=kind,
        required=not (optional or has_default or variadic),
        variadic=variadic,
        description=description,
        default=None if not has_default else parameter.default,
        choices=choices,
        autocomplete=source,
    )


def command_from(function: Handler) -> Command | None:
    """The Command for a marked function (None when it is not one)."""
    marker = getattr(function, _ATTRIBUTE, None)
    if not isinstance(marker, _Marker):
        return None
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    params = tuple(
        _param_from(parameter, hints.get(name, str))
        for name, parameter in list(signature.parameters.items())[1:]
    )
    doc = inspect.getdoc(function) or marker.name
    return Command(
        marker.name, function, params, doc.splitlines()[0], marker.admin_only, marker.private
    )
