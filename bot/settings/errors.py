"""Pydantic's validation errors as one line a user can act on: the key's path, what is wrong
and, for a typo, the key it was probably meant to be (`difflib`).

    [feed] poll_secs: unknown key — did you mean poll_seconds?
    [shock] z_tiers.notice: "two" is not a number
    [discord] token: tokens are read from the environment only (DISCORD_TOKEN)
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class RetiredKey:
    """A key an older version accepted: why it is refused now, and what to do instead."""

    reason: str
    advice: str


SECRETS = "tokens are read from the environment only"
RETIRED_KEYS: Mapping[KeyPath, RetiredKey] = {
    ("discord", "token"): RetiredKey(
        f"{SECRETS} (DISCORD_TOKEN)",
        "older versions read the bot token from [discord] token; set DISCORD_TOKEN in the "
        "environment and delete the key",
    ),
    **{
        ("slack", key): RetiredKey(
            f"{SECRETS} ({variable})",
            f"set {variable} in the environment and delete the key (a secret in a file ends "
            "up in backups and diffs)",
        )
        for key, variable in (
            ("token", "SLACK_BOT_TOKEN"),
            ("bot_token", "SLACK_BOT_TOKEN"),
            ("app_token", "SLACK_APP_TOKEN"),
            ("signing_secret", "SLACK_SIGNING_SECRET"),
            ("client_id", "SLACK_CLIENT_ID"),
            ("client_secret", "SLACK_CLIENT_SECRET"),
        )
    },
    **{
        ("summary", key): RetiredKey(
            f"{SECRETS} (SPUTNIK_SUMMARY_API_KEY)",
            "set SPUTNIK_SUMMARY_API_KEY in the environment and delete the key (a key in a "
            "file ends up in backups and diffs)",
        )
        for key in ("api_key", "key", "token")
    },
    ("scheduler", "premarket_start"): RetiredKey(
        "the extended-hours windows are each market's own",
        'set [markets.us] pre_market = ["04:00", "09:30"] and delete the key',
    ),
    ("scheduler", "postmarket_end"): RetiredKey(
        "the extended-hours windows are each market's own",
        'set [markets.us] post_market = ["16:00", "20:00"] and delete the key',
    ),
    ("scheduler", "krx_checks"): RetiredKey(
        "each market's checks are switched in its own table",
        "set [markets.korea] checks = false and delete the key",
    ),
}
"""Keys that are refused with a reason of their own instead of "unknown key"."""

DICT_TABLES = ("presets", "markets")
"""Tables of tables: a key's path reads `[presets.NAME] key`."""


def key_path(path: KeyPath, env_names: Mapping[KeyPath, str] | None = None) -> str:
    """`("shock", "z_tiers", "notice")` → `[shock] z_tiers.notice` (or the environment
    variable the value came from)."""
    if env_names and path in env_names:
        return env_names[path]
    if not path:
        return "config"
    table, rest = str(path[0]), list(path[1:])
    if table in DICT_TABLES and rest:
        table = f"{table}.{rest.pop(0)}"
    text = ""
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return f"[{table}] {text}" if text else f"[{table}]"


def show(value: Any) -> str:
    """A value as TOML writes it: `"two"`, `true`, `5`, `[1, 2]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | list | dict):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _unwrap(annotation: Any) -> Any:
    """The model or mapping inside `X | None` / `Annotated[X, ...]`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(inner[0]) if len(inner) == 1 else annotation
    return annotation


def known_keys(model: type[BaseModel], parent: KeyPath) -> list[str]:
    """The keys the table at `parent` accepts (walking the model along the path)."""
    current: Any = model
    for part in parent:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = _unwrap(field.annotation)
        elif typing.get_origin(current) is dict:
            current = _unwrap(typing.get_args(current)[1])
        elif typing.get_origin(current) is list and isinstance(part, int):
            current = _unwrap(typing.get_args(current)[0])  # a list of tables
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def suggestion(word: str, choices: Sequence[str]) -> str:
    """` — did you mean X?` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" — did you mean {close[0]}?" if close else ""


_NUMBER_TYPES = {"float_type", "float_parsing", "finite_number"}
_WHOLE_TYPES = {"int_type", "int_parsing", "int_from_float"}
_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _is_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def describe(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """What is wrong with one value, in a few words."""
    kind, value = error["type"], error.get("input")
    path: KeyPath = tuple(error["loc"])
    if kind == "extra_forbidden":
        retired = RETIRED_KEYS.get(path)
        if retired is not None:
            return retired.reason
        what = "unknown table" if len(path) == 1 else "unknown key"
        known = known_keys(model, path[:-1])
        return what + (suggestion(str(path[-1]), known) or f" (known: {', '.join(known)})")
    if kind in _NUMBER_TYPES | _WHOLE_TYPES:
        noun = "a whole number" if kind in _WHOLE_TYPES else "a number"
        if isinstance(value, str) and _is_numeric(value):
            return f"{show(value)} is text, not {noun}: write it without quotes"
        return f"{show(value)} is not {noun}"
    if kind == "bool_type":
        return f"{show(value)} is not true or false"
    if kind == "string_type":
        return f"{show(value)} is not text: put it in quotes"
    if kind in ("list_type", "tuple_type"):
        return f'{show(value)} is not a list like ["a", "b"]'
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{show(value)} is not a table"
    if kind == "missing":
        return "missing (required)"
    if kind == "path_type":
        return f"{show(value)} is not a path: put it in quotes"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return "must list at least one"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        hint = suggestion(str(value), allowed) if isinstance(value, str) else ""
        return f"{show(value)} is not one of {', '.join(allowed)}{hint}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.replace("Input should be", "must be").replace("String should", "must")
    message = message.replace("List should", "must")
    if kind in _BOUNDS:
        message += f", not {show(value)}"
    return message[:1].lower() + message[1:]


def one_line(
    exc: ValidationError, model: type[BaseModel], env_names: Mapping[KeyPath, str] | None = None
) -> str:
    """The first error as `PATH: what is wrong` (one line; the others follow once it is fixed)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{key_path(tuple(first['loc']), env_names)}: {describe(first, model)}{more}"
