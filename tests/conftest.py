"""Shared pytest fixtures: the core loaded once from the shipped history."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import build_core
from bot.domain.backtest import rule_markets
from bot.domain.markets import markets
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import Rule
from bot.services import Core
from bot.settings import load_settings

# Property tests must not fail on a busy 2-core CI machine because one example ran slowly.
hypothesis_settings.register_profile("sputnik", deadline=None)
hypothesis_settings.load_profile("sputnik")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def need_shared(path: Path, what: str) -> None:
    """Go on only if `path` (under ../shared) exists.

    Missing, a test skips naming what and where — except under `CI=true`, where ../shared
    is always laid beside the clone, so a missing file is a failure, not a silent skip.
    """
    if path.exists():
        return
    message = f"{what} is missing: {path} (../shared is not beside this checkout)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def core() -> Core:
    """Settings (without any local config.toml) and the shipped market history."""
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    return build_core(settings)


@pytest.fixture(scope="session")
def preset_rules(core: Core) -> CompiledRules:
    """Every built-in preset compiled once."""
    return CompiledRules(list(core.presets.values()))


def new_york_presets(core: Core) -> dict[str, Rule]:
    """The presets that read only New York's symbols (the default market's): what the New
    York engine tests are about; the overseas presets fire in their own markets' sessions."""
    return {
        name: rule
        for name, rule in core.presets.items()
        if rule_markets(core.market, rule) == {markets().default}
    }
