"""The few Protocols through which the outside world reaches the core.

Adapters (Discord, Slack, console, yfinance, SQLite, Redis) implement these; the core
imports nothing platform-specific.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    """Source of the current time (timezone-aware UTC)."""

    def now(self) -> datetime: ...


class ChatSink(Protocol):
    """Delivers one outbox payload to one channel on one platform.

    `idempotency_key` must travel with the message (Discord: the nonce with
    `enforce_nonce`) so that a resend is dropped by the platform itself.
    Raises on failure; returns only once the platform accepted the message.
    """

    platform: str

    async def deliver(
        self, channel_id: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> None: ...


# The Store protocol is declared in bot/stores/port.py and re-exported here.
from bot.stores.port import Store as Store  # noqa: E402
