"""Handlers that misbehave (a bug, a slow one), to see how the adapters cope."""

from __future__ import annotations

import asyncio

from bot.domain.cards import Card
from handlers.base import Invocation, command


@command("boom")
async def boom(inv: Invocation) -> Card:
    """Always fails."""
    raise RuntimeError("internal detail that must not reach the channel")


@command("nap")
async def nap(inv: Invocation) -> Card:
    """Takes a while."""
    await asyncio.sleep(0.4)
    return Card(title="rested")
