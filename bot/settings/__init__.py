"""Settings: built-in defaults, then `config.toml`, then environment variables — validated.

Read only when the composition root asks (`load_settings`); nothing reads config on import.
The merged tables become one typed `Settings` (bot/settings/model.py); an unknown key or a
wrong value is a `SettingsError` whose message is one line with the key's path and, for a
typo, a suggestion (bot/settings/errors.py).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.settings.errors import RETIRED_KEYS, KeyPath, RetiredKey, one_line
from bot.settings.model import (
    PROJECT_ROOT,
    Alias,
    DataTable,
    DeliveryTable,
    DigestSettings,
    DiscordTable,
    EpisodesTable,
    FeedEntry,
    FeedSettings,
    LoggingTable,
    MetricsTable,
    NewsTable,
    Preset,
    ReplayTable,
    SchedulerTable,
    Settings,
    ShockTable,
    SlackTable,
    StoreTable,
    SummaryTable,
    Tiers,
    UniverseTable,
)

__all__ = [
    "DEFAULTS_FILE",
    "ENV_OVERRIDES",
    "PROJECT_ROOT",
    "RETIRED_KEYS",
    "Alias",
    "DataTable",
    "DeliveryTable",
    "DigestSettings",
    "DiscordTable",
    "EpisodesTable",
    "FeedEntry",
    "FeedSettings",
    "LoggingTable",
    "MetricsTable",
    "NewsTable",
    "Preset",
    "ReplayTable",
    "RetiredKey",
    "SchedulerTable",
    "Settings",
    "SettingsError",
    "ShockTable",
    "SlackTable",
    "StoreTable",
    "SummaryTable",
    "Tiers",
    "UniverseTable",
    "build_settings",
    "config_file",
    "load_settings",
    "read_tables",
]

DEFAULTS_FILE = PROJECT_ROOT / "bot" / "defaults.toml"
ENV_OVERRIDES: Mapping[str, KeyPath] = {
    "SPUTNIK_STORE_URL": ("store", "url"),
    "SLACK_MODE": ("slack", "mode"),
    "PORT": ("slack", "port"),
    "SPUTNIK_METRICS_PORT": ("metrics", "port"),
}
"""Environment variables that override a key (set and not empty)."""


class SettingsError(ValueError):
    """The configuration is unreadable or holds an unknown key or a wrong value (one line);
    `path` is the key's path when one key is to blame."""

    def __init__(self, message: str, path: KeyPath | None = None) -> None:
        super().__init__(message)
        self.path = path


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read config {path}: {exc.strerror or exc}") from None


def _env_value(name: str, text: str) -> Any:
    """A port is a whole number; a value that is not stays text and is refused by name."""
    if name in ("PORT", "SPUTNIK_METRICS_PORT"):
        try:
            return int(text)
        except ValueError:
            return text
    return text


def build_settings(
    tables: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Validate the built-in defaults merged with `tables` (a config file's content), then
    the environment's overrides; SettingsError (one line) on the first wrong key."""
    merged = _merge(_read_toml(DEFAULTS_FILE), tables or {})
    named: dict[KeyPath, str] = {}
    for name, path in ENV_OVERRIDES.items():
        text = (env or {}).get(name, "")
        if text:
            table, key = (str(part) for part in path)
            merged = _merge(merged, {table: {key: _env_value(name, text)}})
            named[path] = name
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        path = tuple(exc.errors(include_url=False)[0]["loc"])
        raise SettingsError(one_line(exc, Settings, named), path) from None


def config_file(config_path: Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file read: `config_path`, else $SPUTNIK_CONFIG, else ./config.toml if it
    exists (None: the built-in defaults alone); a named file that is missing is an error."""
    named = config_path or (Path(env["SPUTNIK_CONFIG"]) if env.get("SPUTNIK_CONFIG") else None)
    path = named or Path("config.toml")
    if path.exists():
        return path
    if named is not None:
        raise SettingsError(f"config file not found: {path} (named by SPUTNIK_CONFIG)")
    return None


def read_tables(config_path: Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The config file's tables (none without a config file)."""
    path = config_file(config_path, env)
    return _read_toml(path) if path is not None else {}


def load_settings(
    config_path: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge the packaged defaults, `config.toml` (if present) and the environment."""
    environ = dict(os.environ) if env is None else env
    return build_settings(read_tables(config_path, environ), environ)
