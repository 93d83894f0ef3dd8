"""Shared pytest fixtures: the core loaded once from the shipped history."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import build_core
from bot.domain.rules.evaluate import CompiledRules
from bot.services import Core
from bot.settings import load_settings

# Property tests must not fail on a busy 2-core CI machine because one example ran slowly.
hypothesis_settings.register_profile("sputnik", deadline=None)
hypothesis_settings.load_profile("sputnik")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@pytest.fixture(scope="session")
def core() -> Core:
    """Settings (without any local config.toml) and the shipped market history."""
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull})
    return build_core(settings)


@pytest.fixture(scope="session")
def preset_rules(core: Core) -> CompiledRules:
    """Every built-in preset compiled once."""
    return CompiledRules(list(core.presets.values()))
