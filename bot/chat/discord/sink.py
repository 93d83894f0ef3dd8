"""Alerts and digests to Discord channels through the REST API (no gateway needed).

Every platform answer becomes one `DeliveryOutcome`: accepted → Delivered; a 429 that
discord.py would not sleep through (`RateLimited`, or a 429 after its own retries) →
RetryAfter; no access (403: 50001, 50013) or an unknown channel (404: 10003) → Gone;
anything else → Failed (a timeout or a dropped connection with an unknown outcome, which
the nonce makes safe to resend).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import aiohttp
import discord

from bot.chat.discord.pacer import DiscordPacer
from bot.chat.discord.render import render_card
from bot.domain.cards import Card
from bot.domain.model import Channel
from bot.ports import Delivered, DeliveryOutcome, Failed, Gone, RetryAfter

log = logging.getLogger(__name__)

GONE_FORBIDDEN_CODES = {50001: "missing access", 50013: "missing permissions"}
GONE_NOT_FOUND_CODES = {10003: "unknown channel"}
DEFAULT_RETRY_SECONDS = 5.0
NONCE_LIMIT = 25


def discord_nonce(idempotency_key: str) -> str:
    """The key itself when it fits Discord's 25-character nonce, else a digest of all of it.

    Cutting a long key (a digest's `digest:discord:GUILD:CHANNEL:SLOT`) would give every
    channel of a guild the same nonce, and Discord would drop all but the first message.
    """
    if len(idempotency_key) <= NONCE_LIMIT:
        return idempotency_key
    return hashlib.blake2b(idempotency_key.encode(), digest_size=12).hexdigest()


def _retry_seconds(exc: discord.HTTPException) -> float:
    """The wait a 429 asked for: its body's `retry_after`, else the header, else 5 s."""
    response = exc.response
    headers = getattr(response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        value = headers.get(name)
        if value:
            try:
                return max(float(value), 0.0)
            except ValueError:
                continue
    return DEFAULT_RETRY_SECONDS


def outcome_of(exc: BaseException) -> DeliveryOutcome:
    """The sink's outcome for an exception raised by discord.py while sending."""
    if isinstance(exc, discord.RateLimited):
        return RetryAfter(float(exc.retry_after), f"rate limited for {exc.retry_after:.1f}s")
    if isinstance(exc, discord.Forbidden):
        if exc.code in GONE_FORBIDDEN_CODES:
            return Gone(f"discord {exc.code}: {GONE_FORBIDDEN_CODES[exc.code]}")
        return Failed(f"forbidden ({exc.code}): {exc.text[:200]}")
    if isinstance(exc, discord.NotFound):
        if exc.code in GONE_NOT_FOUND_CODES:
            return Gone(f"discord {exc.code}: {GONE_NOT_FOUND_CODES[exc.code]}")
        return Failed(f"not found ({exc.code}): {exc.text[:200]}")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            seconds = _retry_seconds(exc)
            return RetryAfter(seconds, f"429 after discord.py's retries; wait {seconds:.1f}s")
        unknown = exc.status >= 500
        return Failed(f"HTTP {exc.status} ({exc.code}): {exc.text[:200]}", unknown_outcome=unknown)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Failed("timed out", unknown_outcome=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Failed(f"cannot connect: {type(exc).__name__}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return Failed(f"connection error: {type(exc).__name__}", unknown_outcome=True)
    return Failed(f"{type(exc).__name__}: {str(exc)[:200]}")


class DiscordSink:
    """`ChatSink` for Discord: paced, nonce-deduplicated, mentions only when asked."""

    platform = "discord"

    def __init__(
        self, client: discord.Client, pacer: DiscordPacer, *, send_timeout: float = 45.0
    ) -> None:
        self._client = client
        self.pacer = pacer
        self.send_timeout = send_timeout
        """The worker's send timeout should be at least this: discord.py may sleep 30 s."""

    async def pace(self, channel: Channel) -> None:
        """Wait for the global budget and the channel's own (awaited before the lease renewal)."""
        await self.pacer.acquire(channel.ref.channel_id)

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """Post `card` to the channel with the key as its enforced nonce."""
        if not channel.ref.channel_id.isdigit():
            return Gone(f"not a Discord channel id: {channel.ref.channel_id[:40]}")
        message = render_card(card, channel.language, channel.zone_name)
        target = self._client.get_partial_messageable(
            int(channel.ref.channel_id),
            guild_id=int(channel.ref.workspace_id) if channel.ref.workspace_id.isdigit() else None,
        )
        mark = self.pacer.granted()
        try:
            sent = await target.send(nonce=discord_nonce(idempotency_key), **message.send_kwargs())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = outcome_of(exc)
            if isinstance(outcome, Failed) and not isinstance(exc, discord.DiscordException):
                log.debug("send to %s raised", channel.ref.key, exc_info=True)
            return outcome
        finally:
            self.pacer.release(mark)
        return Delivered(str(sent.id))
