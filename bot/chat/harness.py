"""A test harness in the spirit of errbot's `testbot`: run a command end to end, get the Card.

harness = await Harness.start(core, "sqlite:///tmp/x.db")
card = await harness.run("/shock NVDA 2025-01-27")
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app import build_services
from bot.chat.session import run_command_line
from bot.domain.cards import Card
from bot.domain.i18n import Locale
from bot.services import Core, Services
from bot.stores import open_store
from bot.stores.port import ChannelRef
from handlers.registry import CommandRegistry, load_registry


@dataclass
class Harness:
    """One in-process channel driving the real handlers, store and core."""

    services: Services
    registry: CommandRegistry
    channel: ChannelRef = field(default_factory=lambda: ChannelRef("test", "local", "harness"))
    locale: Locale = "en"

    @classmethod
    async def start(cls, core: Core, store_url: str, locale: Locale = "en") -> Harness:
        """Open the store and build the services and registry."""
        store = await open_store(store_url)
        return cls(build_services(core, store), load_registry(), locale=locale)

    async def run(self, text: str, *, can_admin: bool = True, user_id: str = "tester") -> Card:
        """Run one command line as `user_id`."""
        return await run_command_line(
            self.services,
            self.registry,
            self.channel,
            text,
            user_id=user_id,
            can_admin=can_admin,
            default_locale=self.locale,
        )

    async def close(self) -> None:
        """Close the store."""
        await self.services.store.close()
