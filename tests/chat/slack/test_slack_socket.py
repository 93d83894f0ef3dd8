"""Socket Mode over a local websocket: the envelope is acked, then the command answered."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import build_services
from bot.chat.slack import app as slack_app
from bot.chat.slack.app import SlackConnectError, build_runtime
from bot.ports.store import Store
from bot.services import Core
from bot.settings import build_settings
from tests.chat.slack.conftest import TOKEN
from tests.chat.slack.slack_helpers import APP_TOKEN, HeldCommands, command_body
from tests.fakes.slack_fake import SlackFake


async def test_a_slash_command_envelope_is_acked_over_the_socket_before_the_work(
    slack: SlackFake, store: Store, core: Core
) -> None:
    held = HeldCommands()
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    settings = build_settings({"slack": {"api_base": slack.url}})  # socket mode is the default
    runtime = build_runtime(settings, build_services(core, store), held.registry(), env)
    assert runtime is not None and runtime.mode == "socket"
    async with asyncio.timeout(10):
        await runtime.start()
    try:
        assert slack.called("apps.connections.open")
        envelope = {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": command_body(slack, "hold TSM"),
        }
        await slack.envelopes.put(envelope)
        await slack.wait_for(lambda: slack.acks)
        assert slack.acks[0]["envelope_id"] == "env-1"
        assert slack.responses == []  # acked while the handler is still held
        held.release.set()
        await slack.wait_for(lambda: slack.responses)
        assert slack.responses[0]["response_type"] == "in_channel"
        assert "released TSM" in slack.responses[0]["text"]
    finally:
        await runtime.close()


async def test_a_socket_that_cannot_connect_fails_start_instead_of_hanging(
    slack: SlackFake, store: Store, core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_app, "CONNECT_SECONDS", 0.5)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "bad-app-token-123"}  # fake refuses it
    settings = build_settings({"slack": {"api_base": slack.url}})
    runtime = build_runtime(settings, build_services(core, store), HeldCommands().registry(), env)
    assert runtime is not None
    with pytest.raises(SlackConnectError, match="SLACK_APP_TOKEN"):
        await runtime.start()
    await runtime.close()
