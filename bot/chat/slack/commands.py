"""Slash commands on Slack: `/sputnik <command> …` (plus a few short ones) → the registry.

Each listener acks first (the HTTP 200 or the socket ack), then runs the command and
answers: in the channel for results, ephemeral for errors and help. A chart is uploaded with
`files_upload_v2` as a thread reply; where the bot is not in the channel the reply goes
without it and says "/invite @Sputnik to see charts".
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.reply import Caller, reply
from bot.chat.slack.config import SlackConfig
from bot.chat.slack.render import render_blocks
from bot.chat.slack.sink import NOT_IN_CHANNEL, slack_error, upload_chart
from bot.domain.cards import Card, CardField
from bot.domain.i18n import Locale, t
from bot.domain.model import ChannelRef
from bot.services import Services
from handlers.registry import CommandRegistry, error_card

log = logging.getLogger(__name__)
UMBRELLA = "sputnik"
USER_CACHE_SECONDS = 300.0
Respond = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class SlackUser:
    """What a command needs to know about its caller."""

    locale: Locale = "en"
    is_admin: bool = False
    name: str = ""


def locale_of(slack_locale: str | None) -> Locale:
    """`ko-KR` → `ko`; anything else → `en`."""
    return "ko" if (slack_locale or "").lower().startswith("ko") else "en"


@dataclass
class UserDirectory:
    """`users.info` (with `include_locale`) answers, cached a few minutes per workspace user."""

    ttl: float = USER_CACHE_SECONDS
    _cache: dict[tuple[str, str], tuple[float, SlackUser]] = field(default_factory=dict)

    async def lookup(self, client: AsyncWebClient, team_id: str, user_id: str) -> SlackUser:
        """The user's locale and whether they are a workspace admin or owner."""
        key = (team_id, user_id)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            answer = await client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, slack_error(exc))
            return SlackUser()
        data = answer.get("user") or {}
        user = SlackUser(
            locale=locale_of(data.get("locale")),
            is_admin=any(data.get(k) for k in ("is_admin", "is_owner", "is_primary_owner")),
            name=str(data.get("name") or ""),
        )
        self._cache[key] = (time.monotonic(), user)
        return user


@dataclass
class CommandContext:
    """What the command listeners share."""

    services: Services
    registry: CommandRegistry
    config: SlackConfig
    users: UserDirectory = field(default_factory=UserDirectory)

    def allowed(self, team_id: str, user_id: str) -> bool:
        """True for a user on the configured admin allow-list (`U…` or `T…:U…`)."""
        return user_id in self.config.admins or f"{team_id}:{user_id}" in self.config.admins


def slack_command_names(card: Card, roots: set[str], short: tuple[str, ...]) -> Card:
    """`/quote NVDA` in a reply becomes `/sputnik quote NVDA` (except the short commands)."""
    names = sorted(roots - set(short), key=len, reverse=True)
    if not names:
        return card
    pattern = re.compile(r"(?<![\w/])/(" + "|".join(map(re.escape, names)) + r")\b")

    def fix(text: str) -> str:
        return pattern.sub(rf"/{UMBRELLA} \1", text)

    def fields(items: tuple[CardField, ...]) -> tuple[CardField, ...]:
        return tuple(replace(f, name=fix(f.name), value=fix(f.value)) for f in items)

    sections = tuple(
        replace(x, title=fix(x.title), text=fix(x.text), fields=fields(x.fields))
        for x in card.sections
    )
    return replace(
        card,
        title=fix(card.title),
        text=fix(card.text),
        fields=fields(card.fields),
        sections=sections,
    )


_USER_GROUP = re.compile(r"<!subteam\^([A-Z0-9]{4,20})(?:\|[^>]*)?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]{4,20})(?:\|([^>]*))?>")
_USER = re.compile(r"<@([A-Z0-9]{4,20})(?:\|([^>]*))?>")


def plain_mentions(text: str) -> str:
    """Slack's escaped mentions as the handlers read them: a user group `<!subteam^S1|@x>`
    → its id `S1`, `<!here>` → `@here`, a channel `<#C1|name>` → `#name`, a user
    `<@U1|name>` → `@name` (the bare id where Slack gives no name)."""
    text = _USER_GROUP.sub(r"\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    return _USER.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)


def command_line(command: str, text: str) -> str:
    """The registry's command line for `/sputnik shock NVDA` or the short `/shock NVDA`."""
    name = command.lstrip("/").lower()
    text = plain_mentions(text.strip())
    line = text if name == UMBRELLA else f"{name} {text}"
    return line.strip() or "help"


async def run_slash_command(
    ctx: CommandContext, body: dict[str, Any], client: AsyncWebClient, respond: Respond
) -> None:
    """Run one slash command (already acked) and answer it."""
    team_id = str(body.get("team_id") or "")
    user_id = str(body.get("user_id") or "")
    ref = ChannelRef("slack", team_id, str(body.get("channel_id") or ""))
    line = command_line(str(body.get("command") or UMBRELLA), str(body.get("text") or ""))
    locale: Locale = "en"
    zone: str | None = None  # the channel's, once read; UTC until then
    try:
        user = await ctx.users.lookup(client, team_id, user_id)
        locale = user.locale
        caller = Caller(user_id, user.is_admin or ctx.allowed(team_id, user_id), locale, user.name)
        answer = await reply(ctx.services, ctx.registry, ref, line, caller)
        locale, zone = answer.locale, answer.zone
        roots = {c.name.split()[0] for c in ctx.registry}
        card = slack_command_names(answer.card, roots, ctx.config.short_commands)
        await send_reply(client, respond, ref, card, locale, zone, ephemeral=answer.private)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("slack command %r failed (ref %s)", line[:60], reference)
        failed = error_card(locale, "error.internal_ref", ref=reference)
        blocks, text = render_blocks(failed, locale, zone=zone)
        await respond(response_type="ephemeral", text=text, blocks=blocks)


async def send_reply(
    client: AsyncWebClient,
    respond: Respond,
    ref: ChannelRef,
    card: Card,
    locale: Locale,
    zone: str | None,
    *,
    ephemeral: bool,
) -> None:
    """Answer a command: ephemeral or in the channel; a chart follows in the thread."""
    if ephemeral or card.chart_png is None:
        blocks, text = render_blocks(card, locale, zone=zone)
        kind = "ephemeral" if ephemeral else "in_channel"
        await respond(response_type=kind, text=text, blocks=blocks)
        return
    blocks, text = render_blocks(card, locale, zone=zone)
    try:
        posted = await client.chat_postMessage(
            channel=ref.channel_id, text=text, blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        if slack_error(exc) not in NOT_IN_CHANNEL:
            raise
        hinted, text = render_blocks(card, locale, zone=zone, notes=(t("slack.invite", locale),))
        await respond(response_type="in_channel", text=text, blocks=hinted)
        return
    ts = str(posted.get("ts"))

    async def add_hint(hint: str) -> None:
        """Show the invite hint in the answer itself, where the chart would have been."""
        hinted, text = render_blocks(card, locale, zone=zone, notes=(hint,))
        await client.chat_update(channel=ref.channel_id, ts=ts, text=text, blocks=hinted)

    await upload_chart(client, ref, card, ts, locale, add_hint)


def register_commands(app: AsyncApp, ctx: CommandContext) -> tuple[str, ...]:
    """Listen to `/sputnik` and the configured short commands; returns their names."""
    names = (f"/{UMBRELLA}", *(f"/{name}" for name in ctx.config.short_commands))

    async def on_command(
        ack: Callable[[], Awaitable[None]],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
    ) -> None:
        await ack()
        await run_slash_command(ctx, body, client, respond)

    for name in names:
        app.command(name)(on_command)
    return names
