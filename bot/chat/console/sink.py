"""The console sink: prints each delivered message as text and keeps what it delivered.

Always enabled (`python -m bot run` prints every delivery), and the sink the replay and the
test harness capture deliveries with, as errbot's testbot queue captures what a bot sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from bot.chat.text import render_text
from bot.domain.cards import Card
from bot.domain.model import Channel
from bot.ports import Delivered, DeliveryOutcome


@dataclass(frozen=True)
class Delivery:
    """One message a channel received: where, what, and its idempotency key."""

    channel: Channel
    card: Card
    idempotency_key: str

    @property
    def text(self) -> str:
        """The message as the channel's reader sees it in text."""
        return render_text(self.card, self.channel.language, zone=self.channel.zone_name)


@dataclass
class ConsoleSink:
    """A ChatSink for one platform name that renders Cards as text (to `out`, if given)."""

    platform: str = "console"
    out: TextIO | None = None
    delivered: list[Delivery] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)

    async def pace(self, channel: Channel) -> None:
        """No budget to respect."""

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """Print and keep the message; a repeated key is dropped, as a platform's dedupe would."""
        if idempotency_key in self._keys:
            return Delivered()
        self._keys.add(idempotency_key)
        delivery = Delivery(channel, card, idempotency_key)
        self.delivered.append(delivery)
        if self.out is not None:
            header = f"→ {channel.ref.key} ({channel.language}, {channel.zone_name})"
            print(header, file=self.out)
            print(delivery.text, file=self.out, flush=True)
            print(file=self.out)
        return Delivered(idempotency_key)

    def messages(self, channel: Channel | None = None) -> list[Delivery]:
        """What was delivered (to one channel), in order."""
        if channel is None:
            return list(self.delivered)
        return [d for d in self.delivered if d.channel.ref == channel.ref]
