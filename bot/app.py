"""Composition root: reads settings once and builds the core services everything shares."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.market import MarketData
from bot.domain.rules.evaluate import CompiledRules
from bot.domain.rules.presets import load_presets
from bot.domain.views import load_views
from bot.ports import Clock
from bot.services import Core, Services, SystemClock
from bot.settings import Settings
from bot.stores.port import Store

if TYPE_CHECKING:
    from handlers.registry import CommandRegistry

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
    market, warnings = MarketData.load(
        directory,
        settings.alias_table(),
        source,
        universe=settings.universe.symbols,
        lazy=data_dir is None if lazy is None else lazy,
    )
    presets = load_presets(settings.preset_tables(), market.symbols)
    return Core(settings, market, presets, tuple(warnings))


@dataclass
class App:
    """The running application: settings, core, the opened store, services, commands."""

    settings: Settings
    core: Core
    store: Store
    services: Services
    registry: CommandRegistry

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()


async def bootstrap(
    settings: Settings,
    *,
    store_url: str | None = None,
    clock: Clock | None = None,
    core: Core | None = None,
    data_dir: Path | None = None,
    create: bool = True,
) -> App:
    """The one way every entry point (`run`, `console`, `outbox`, tests) wires the app:
    load the core (unless given), open the store (`create=False`: an existing one only),
    build the services and the registry."""
    from bot.stores import open_store
    from handlers.registry import load_registry

    loaded = core or build_core(settings, data_dir)
    store = await open_store(store_url or settings.store_url, create=create)
    try:
        services = build_services(loaded, store, clock=clock)
    except Exception:
        await store.close()
        raise
    return App(settings, loaded, store, services, load_registry())
