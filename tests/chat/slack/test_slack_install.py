"""Multi-workspace: OAuth install against the fake, per-workspace tokens, lifecycle events."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_services
from bot.chat.slack.app import EVENTS_PATH, SlackRuntime, build_runtime
from bot.domain.cards import Card
from bot.domain.model import Channel, ChannelRef, Subscription, TriggerPolicy
from bot.ports.store import Store
from bot.services import Core
from bot.settings import build_settings
from tests.chat.slack.slack_helpers import (
    SECRET,
    HeldCommands,
    command_body,
    post_event,
    post_signed,
)
from tests.fakes.slack_fake import SlackFake, Workspace

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret-0123456789"
NEW_TOKEN = "xoxb-2-installed-workspace-token"


@pytest.fixture
async def oauth_runtime(
    slack: SlackFake, store: Store, core: Core, tmp_path: Path
) -> AsyncIterator[SlackRuntime]:
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    settings = build_settings(
        {
            "store": {"url": f"sqlite:///{tmp_path / 'sputnik.db'}"},
            "slack": {"mode": "http", "port": 0, "api_base": slack.url},
        }
    )
    runtime = build_runtime(settings, build_services(core, store), HeldCommands().registry(), env)
    assert runtime is not None
    await runtime.start()
    yield runtime
    await runtime.close()


async def install(runtime: SlackRuntime, slack: SlackFake, team: str, token: str) -> None:
    """Walk Bolt's OAuth flow: /slack/install, then the redirect with a code the fake knows."""
    slack.oauth_codes["code-" + team] = Workspace(
        team, token, {"UKO": {"locale": "ko-KR", "is_admin": True}}
    )
    base = f"http://127.0.0.1:{runtime.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/slack/install") as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"].split(";", 1)[0]  # Secure: sent by hand on http
        assert f"{slack.base}/oauth/v2/authorize?" in html  # the API's host (GovSlack too)
        state = re.search(r"state=([^&\"']+)", html)
        assert state is not None
        redirect = f"{base}/slack/oauth_redirect?code=code-{team}&state={state.group(1)}"
        async with session.get(redirect, headers={"Cookie": cookie}) as done:
            assert done.status == 200, await done.text()


async def test_an_oauth_install_then_a_command_from_that_workspace_uses_its_token(
    oauth_runtime: SlackRuntime, slack: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await install(oauth_runtime, slack, "T2", NEW_TOKEN)
    [access] = slack.called("oauth.v2.access")
    assert access.get("code") == "code-T2"
    url = f"http://127.0.0.1:{oauth_runtime.port}{EVENTS_PATH}"
    assert await post_signed(url, command_body(slack, "help", team="T2", user="UKO")) == 200
    await slack.wait_for(lambda: slack.responses)
    assert "스푸트니크" in str(slack.responses[0]["text"])
    assert slack.called("users.info")[-1]["token"] == NEW_TOKEN
    logged = caplog.text
    assert "oauth.v2.access" in logged
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    for secret in (NEW_TOKEN, CLIENT_SECRET, "code-T2", basic):
        assert secret not in logged


async def test_alerts_to_an_installed_workspace_go_with_its_own_token(
    oauth_runtime: SlackRuntime, slack: SlackFake
) -> None:
    await install(oauth_runtime, slack, "T2", NEW_TOKEN)
    channel = Channel(ChannelRef("slack", "T2", "C9"))
    await oauth_runtime.sink.pace(channel)
    outcome = await oauth_runtime.sink.send(channel, Card(title="alert"), "k-T2")
    assert type(outcome).__name__ == "Delivered"
    assert slack.called("chat.postMessage")[-1]["token"] == NEW_TOKEN
    unknown = Channel(ChannelRef("slack", "T404", "C1"))
    gone = await oauth_runtime.sink.send(unknown, Card(title="alert"), "k-T404")
    assert type(gone).__name__ == "Gone"


async def subscribed(store: Store, ref: ChannelRef) -> None:
    await store.upsert_channel(Channel(ref))
    await store.add_subscription(Subscription(ref, "deepseek", policy=TriggerPolicy.parse("once")))


async def test_uninstalling_purges_the_workspace_and_forgets_its_installation(
    oauth_runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    await install(oauth_runtime, slack, "T2", NEW_TOKEN)
    gone, kept = ChannelRef("slack", "T2", "C1"), ChannelRef("slack", "T3", "C1")
    await subscribed(store, gone)
    await subscribed(store, kept)
    url = f"http://127.0.0.1:{oauth_runtime.port}{EVENTS_PATH}"
    assert await post_event(url, "T2", {"type": "app_uninstalled"}) == 200
    installations = oauth_runtime.installations
    assert installations is not None
    async with asyncio.timeout(5):
        while await store.get_channel(gone) is not None:
            await asyncio.sleep(0.01)
    assert await store.get_channel(kept) is not None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T2") is None
