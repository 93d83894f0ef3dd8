"""Composition root: reads settings once and builds the core services everything shares."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.domain.market import MarketData
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import load_presets
from bot.domain.views import load_views
from bot.ports import Clock
from bot.services import Core, Services, SystemClock
from bot.settings import Settings
from bot.stores.port import Store

log = logging.getLogger(__name__)


def build_services(core: Core, store: Store, *, clock: Clock | None = None) -> Services:
    """Everything the commands need: the core, the store, the views, compiled presets, the
    trading clock (the wall clock unless a replay hands in its own)."""
    views = load_views(core.settings.views_dir)
    compiled = CompiledRules(list(core.presets.values()))
    return Services(core, store, views, compiled, clock or SystemClock())


def build_core(
    settings: Settings, data_dir: Path | None = None, *, lazy: bool | None = None
) -> Core:
    """Index market history (the shipped one, or `data_dir`) and load the presets.

    The shipped history is read lazily by default (each file on first use: a command's cost
    grows with what it reads); a user's own `data_dir` is read and checked up front, so its
    warnings are complete. `lazy` overrides either.
    """
    directory = data_dir or settings.history_dir
    source = "shipped history" if data_dir is None else f"data from {directory}"
    universe = settings.raw.get("universe", {}).get("symbols", [])
    market, warnings = MarketData.load(
        directory,
        settings.raw.get("aliases", {}),
        source,
        universe=universe,
        lazy=data_dir is None if lazy is None else lazy,
    )
    presets = load_presets(settings.raw, market.symbols)
    return Core(settings, market, presets, tuple(warnings))
