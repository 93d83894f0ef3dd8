"""Helpers for driving the real Bolt app: signed requests, command bodies, a held command."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.domain.cards import Card
from handlers.base import Invocation, command, command_from
from handlers.registry import CommandRegistry, load_registry
from tests.chat.slack.conftest import TEAM
from tests.fakes.slack_fake import SlackFake

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_TOKEN = "xapp-1-A111-222-secretappsocket"


def command_body(
    fake: SlackFake,
    text: str,
    *,
    command_name: str = "/sputnik",
    user: str = "UUSER",
    team: str = TEAM,
    channel: str = "C1",
    response: str = "r1",
) -> dict[str, str]:
    """A slash command payload as Slack sends it."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "desk",
        "channel_id": channel,
        "channel_name": "chips",
        "user_id": user,
        "user_name": "someone",
        "command": command_name,
        "text": text,
        "api_app_id": "A1",
        "response_url": fake.response_url(response),
        "trigger_id": "1.2.3",
    }


async def post_signed(
    url: str, form: dict[str, str], *, secret: str = SECRET, age: float = 0.0
) -> int:
    """POST a form-encoded body signed like Slack; the HTTP status."""
    body = urlencode(form)
    timestamp = str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        await answer.read()
        return answer.status


class HeldCommands:
    """A registry with `/hold` (waits on an event) and `/boom` (a bug), plus the real ones."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    def registry(self) -> CommandRegistry:
        held = self

        @command("hold")
        async def hold(inv: Invocation, word: Annotated[str, "anything"] = "x") -> Card:
            """Waits until the test releases it."""
            held.started.set()
            await held.release.wait()
            return Card(title=f"released {word}")

        @command("boom")
        async def boom(inv: Invocation) -> Card:
            """Always fails."""
            raise RuntimeError("a bug with a secret inside xoxb-1-secret-bot-token")

        commands = dict(load_registry().commands)
        for function in (hold, boom):
            found = command_from(function)
            assert found is not None
            commands[found.name] = found
        return CommandRegistry(commands)


async def post_event(url: str, team: str, event: dict[str, object], *, secret: str = SECRET) -> int:
    """POST a signed Events API callback; the HTTP status."""
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A1",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
        }
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        await answer.read()
        return answer.status
