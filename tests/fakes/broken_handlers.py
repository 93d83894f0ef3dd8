"""A handler module with a bug, to see how the adapters report one."""

from __future__ import annotations

from bot.domain.cards import Card
from handlers.base import Invocation, command


@command("boom")
async def boom(inv: Invocation) -> Card:
    """Always fails."""
    raise RuntimeError("internal detail that must not reach the channel")
