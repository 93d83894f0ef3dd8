"""Shared pytest fixtures: the core loaded once from the shipped history."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.app import Core, build_core
from bot.domain.rules.evaluate import CompiledRules
from bot.settings import load_settings

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
