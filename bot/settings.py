"""Settings: built-in defaults, then `config.toml`, then environment variables.

Read only when the composition root asks (`load_settings`); nothing reads config on import.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.toml"


class SettingsError(ValueError):
    """The configuration file is unreadable or holds a wrong value."""


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the application."""

    store_url: str = "sqlite:///sputnik.db"
    history_dir: Path = PROJECT_ROOT / "data" / "history"
    views_dir: Path = PROJECT_ROOT / "data" / "views"
    raw: dict[str, Any] = field(default_factory=dict)
    """The merged TOML (defaults + config file) for sections owned by other modules."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
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


def load_settings(config_path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Merge the packaged defaults, `config.toml` (if present) and the environment."""
    environ = dict(os.environ) if env is None else env
    raw = _read_toml(DEFAULTS_FILE) if DEFAULTS_FILE.exists() else {}
    named = config_path or (
        Path(environ["SPUTNIK_CONFIG"]) if environ.get("SPUTNIK_CONFIG") else None
    )
    path = named or Path("config.toml")
    if path.exists():
        raw = _merge(raw, _read_toml(path))
    elif named is not None:
        raise SettingsError(f"config file not found: {path} (named by SPUTNIK_CONFIG)")
    store_url = environ.get("SPUTNIK_STORE_URL") or raw.get("store", {}).get("url")
    data = raw.get("data", {})
    return Settings(
        store_url=store_url or Settings.store_url,
        history_dir=Path(data["history_dir"]) if "history_dir" in data else Settings.history_dir,
        views_dir=Path(data["views_dir"]) if "views_dir" in data else Settings.views_dir,
        raw=raw,
    )
