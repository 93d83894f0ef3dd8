"""The few Protocols through which the outside world reaches the core.

Adapters (Discord, Slack, console, yfinance, SQLite, Redis) implement these; the core
imports nothing platform-specific.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.domain.cards import Card
    from bot.stores.port import Channel


class Clock(Protocol):
    """Source of the current time (timezone-aware UTC) for trading-time logic.

    Trigger windows, sessions, cooldowns, expiries and schedules read it; leases, send
    timeouts, back-off and "delayed" labels use real elapsed time instead, so an
    accelerated replay clock never expires a lease mid-send.
    """

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Delivered:
    """The platform accepted the message (`message_id` where it gives one)."""

    message_id: str | None = None


@dataclass(frozen=True)
class RetryAfter:
    """The platform asked us to wait: due again in `seconds`, no attempt counted."""

    seconds: float
    reason: str = "rate limited"


@dataclass(frozen=True)
class Gone:
    """The channel is unreachable for good (deleted, bot removed, no permission)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """The send failed: an attempt is counted and the item retried with back-off.

    `unknown_outcome` (a timeout: the platform may have accepted it) retries within two
    minutes, while the platform's dedupe window still holds.
    """

    error: str
    unknown_outcome: bool = False


DeliveryOutcome = Delivered | RetryAfter | Gone | Failed


class ChatSink(Protocol):
    """Sends one Card to one channel of one platform and says how it went.

    `idempotency_key` must travel with the message (Discord: the nonce with
    `enforce_nonce`; Slack: message metadata, checked before a resend) so that a resend
    after an unknown outcome does not show twice. `send` never raises for a platform
    answer: every answer maps to one `DeliveryOutcome`. The worker awaits `pace` before
    it renews the item's lease, and bounds only `send` by its timeout.
    """

    platform: str

    async def pace(self, channel: Channel) -> None:
        """Wait until the platform's budgets (global, per channel) allow one more send."""
        ...

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """Deliver `card` to `channel`; the outcome, never an exception for a platform answer."""
        ...


class PlatformRuntime(Protocol):
    """A chat platform's adapter as the composition root runs it (Discord, Slack).

    Each platform module under `bot/chat/` offers `build_runtime(settings, services,
    registry, env) -> PlatformRuntime | None` (None when its tokens are not set).
    """

    platform: str
    sink: ChatSink

    async def start(self) -> None:
        """Connect (gateway, socket, HTTP server); returns once it is serving."""
        ...

    async def close(self) -> None:
        """Disconnect and release resources."""
        ...


# The Store protocol is declared in bot/stores/port.py and re-exported here.
from bot.stores.port import Store as Store  # noqa: E402
