"""One reply path: Discord, Slack and the console give the same Reply for the same command.

Each platform runs through its real adapter — discord.py on the fake gateway, Bolt over
signed HTTP, the console reading a stream — and each answer is held against the Reply
`bot/chat/reply.py` computes for the same command line: the same card, private for help
and errors, public for a normal answer.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.chat.console.app import run_console
from bot.chat.discord.app import DiscordRuntime
from bot.chat.reply import Caller, Reply, reply
from bot.chat.slack.app import EVENTS_PATH, SlackRuntime, build_runtime
from bot.domain.model import ChannelRef
from bot.services import Services
from bot.settings import build_settings
from handlers.registry import load_registry
from tests.chat.conftest import CHANNEL, GUILD
from tests.chat.slack.slack_helpers import SECRET, command_body, post_signed
from tests.chat.test_discord_commands import option, run
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory
from tests.fakes.slack_fake import SlackFake

EPHEMERAL = 1 << 6
MANAGE_CHANNELS = 1 << 4
SLACK_TOKEN = "xoxb-1-secret-bot-token"
NEUTRAL = ChannelRef("test", "local", "parity")


@dataclass(frozen=True)
class Case:
    """One command as a line (Slack, console) and as Discord options."""

    line: str
    command: str
    options: tuple[tuple[str, str], ...] = ()


HELP = Case("help", "help")
BAD_ZONE = Case("timezone Mars/Olympus", "timezone", (("zone", "Mars/Olympus"),))
QUOTE = Case("quote NVDA", "quote", (("symbols", "NVDA"),))
CASES = (HELP, BAD_ZONE, QUOTE)


@pytest.fixture
async def slack_runtime(services: Services) -> AsyncIterator[tuple[SlackFake, SlackRuntime]]:
    """Slack over HTTP against the fake, on the same services as the Discord runtime."""
    fake = SlackFake()
    fake.add_workspace("T1", SLACK_TOKEN, UADMIN={"locale": "en-US", "is_admin": True})
    await fake.start()
    settings = build_settings({"slack": {"mode": "http", "port": 0, "api_base": fake.url}})
    env = {"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    built = build_runtime(settings, services, load_registry(), env)
    assert built is not None
    await built.start()
    yield fake, built
    await built.close()
    await fake.close()


async def expected(services: Services, case: Case) -> Reply:
    """The Reply the one reply path gives an English channel admin."""
    return await reply(services, load_registry(), NEUTRAL, case.line, Caller("u", True, "en"))


async def on_discord(fake: FakeDiscord, make: InteractionFactory, case: Case) -> tuple[bool, str]:
    """(private, embed title) of Discord's answer."""
    options = [option(name, value) for name, value in case.options]
    payload = make.command(case.command, options, permissions=MANAGE_CHANNELS)
    [callback] = await run(fake, payload)
    data: dict[str, Any] = callback.json["data"]
    return bool((data.get("flags") or 0) & EPHEMERAL), data["embeds"][0]["title"]


async def on_slack(fake: SlackFake, runtime: SlackRuntime, case: Case) -> tuple[bool, str]:
    """(private, fallback text) of Slack's answer."""
    before = len(fake.responses)
    url = f"http://127.0.0.1:{runtime.port}{EVENTS_PATH}"
    body = command_body(fake, case.line, user="UADMIN", response=f"r{before}")
    assert await post_signed(url, body) == 200
    await fake.wait_for(lambda: len(fake.responses) > before)
    answer = fake.responses[before]
    return answer["response_type"] == "ephemeral", str(answer["text"])


async def test_help_errors_and_a_normal_answer_are_the_same_reply_on_every_platform(
    runtime: DiscordRuntime,
    fake: FakeDiscord,
    slack_runtime: tuple[SlackFake, SlackRuntime],
    services: Services,
    tmp_path: Path,
) -> None:
    slack, slack_app = slack_runtime
    replies = {case: await expected(services, case) for case in CASES}
    make = InteractionFactory(GUILD, CHANNEL)
    assert [replies[case].private for case in CASES] == [True, True, False]
    for case in CASES:
        title = replies[case].card.title
        private, shown = await on_discord(fake, make, case)
        assert private is replies[case].private and title in shown, ("discord", case)
        private, shown = await on_slack(slack, slack_app, case)
        assert private is replies[case].private and title in shown, ("slack", case)
    printed = io.StringIO()
    lines = io.StringIO("".join(f"{case.line}\n" for case in CASES))
    await run_console(
        services,
        load_registry(),
        language="en",
        chart_dir=tmp_path,
        stream=lines,
        out=printed,
        channel=ChannelRef("console", "local", "parity"),
    )
    answers = printed.getvalue().split("\n\n━━ ")
    assert len(answers) == len(CASES)
    for case, shown in zip(CASES, answers, strict=True):
        assert replies[case].card.title in shown.splitlines()[0], ("console", case)
