"""The console adapter: one channel named `console`, commands from a prompt or stdin."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import TextIO

from bot.chat.reply import Caller, reply
from bot.chat.text import render_text
from bot.domain.cards import Card
from bot.domain.i18n import Locale, t
from bot.domain.model import Channel, ChannelRef
from bot.services import Services
from handlers.registry import CommandRegistry

CONSOLE_CHANNEL = ChannelRef("console", "local", "console")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_chart(card: Card, directory: Path) -> str | None:
    """Write the card's chart PNG (if any) and return its path."""
    if card.chart_png is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / _UNSAFE.sub("_", card.chart_name)
    path.write_bytes(card.chart_png)
    return str(path)


async def _read_line(prompt: str, stream: TextIO, interactive: bool) -> str | None:
    if interactive:
        try:
            return await asyncio.to_thread(input, prompt)
        except EOFError:
            return None
    line = await asyncio.to_thread(stream.readline)
    return line if line else None


async def run_console(
    services: Services,
    registry: CommandRegistry,
    *,
    language: Locale | None,
    chart_dir: Path,
    stream: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    channel: ChannelRef = CONSOLE_CHANNEL,
) -> int:
    """Read commands until end of input; print each rendered Card.

    `channel` other than the console's own: an operator acting as that channel's admin.
    """
    store = services.store
    existing = await store.get_channel(channel)
    if existing is None:
        await store.upsert_channel(Channel(channel, language=language or "en"))
    elif language is not None and existing.language != language:
        await store.set_language(channel, language)
    interactive = stream.isatty()
    if interactive:
        stored = await store.get_channel(channel)
        print(t("console.welcome", stored.language if stored else language or "en"), file=out)
    while True:
        line = await _read_line("sputnik> ", stream, interactive)
        if line is None:
            return 0
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text in ("exit", "quit", "/exit", "/quit"):
            return 0
        user = "console" if channel == CONSOLE_CHANNEL else "operator"
        caller = Caller(user, can_admin=True, locale=language)
        answer = await reply(services, registry, channel, text, caller)
        card = answer.card
        shown = render_text(card, answer.locale, save_chart(card, chart_dir), zone=answer.zone)
        print(shown, file=out, flush=True)
        print(file=out)
