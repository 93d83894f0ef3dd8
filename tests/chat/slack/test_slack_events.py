"""Lifecycle events into the real Bolt app, and no secret in any log line at debug level."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import build_services
from bot.chat.slack.app import EVENTS_PATH, SlackRuntime, build_runtime
from bot.chat.slack.sink import SlackSink
from bot.domain.cards import Card
from bot.domain.model import Channel, ChannelRef
from bot.ports.store import Store
from bot.redaction import redact
from bot.services import Core
from bot.settings import build_settings
from tests.chat.slack.conftest import TEAM, TOKEN
from tests.chat.slack.slack_helpers import (
    SECRET,
    HeldCommands,
    command_body,
    post_event,
    post_signed,
)
from tests.fakes.slack_fake import SlackFake


@pytest.fixture
async def runtime(slack: SlackFake, store: Store, core: Core) -> AsyncIterator[SlackRuntime]:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    settings = build_settings({"slack": {"mode": "http", "port": 0, "api_base": slack.url}})
    built = build_runtime(settings, build_services(core, store), HeldCommands().registry(), env)
    assert built is not None
    await built.start()
    yield built
    await built.close()


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait for an event's effect in the store (the listener runs after the 200)."""
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[misc]
            await asyncio.sleep(0.01)


def url(runtime: SlackRuntime) -> str:
    return f"http://127.0.0.1:{runtime.port}{EVENTS_PATH}"


async def test_the_bot_removed_from_a_channel_deactivates_it_with_the_reason(
    runtime: SlackRuntime, store: Store
) -> None:
    ref = ChannelRef("slack", TEAM, "C1")
    await store.upsert_channel(Channel(ref))
    event = {"type": "member_left_channel", "user": "UBOT", "channel": "C1", "team": TEAM}
    assert await post_event(url(runtime), TEAM, event) == 200

    async def inactive() -> bool:
        found = await store.get_channel(ref)
        return found is not None and not found.active

    await until(inactive)
    found = await store.get_channel(ref)
    assert found is not None and "removed" in (found.inactive_reason or "")


async def test_another_member_leaving_changes_nothing(runtime: SlackRuntime, store: Store) -> None:
    ref = ChannelRef("slack", TEAM, "C1")
    await store.upsert_channel(Channel(ref))
    event = {"type": "member_left_channel", "user": "UUSER", "channel": "C1", "team": TEAM}
    assert await post_event(url(runtime), TEAM, event) == 200
    left = {"type": "group_left", "channel": "C2"}  # a probe that the first was handled
    assert await post_event(url(runtime), TEAM, left) == 200
    found = await store.get_channel(ref)
    assert found is not None and found.active


async def test_a_deleted_channel_is_purged(runtime: SlackRuntime, store: Store) -> None:
    ref, other = ChannelRef("slack", TEAM, "C1"), ChannelRef("slack", TEAM, "C2")
    await store.upsert_channel(Channel(ref))
    await store.upsert_channel(Channel(other))
    assert await post_event(url(runtime), TEAM, {"type": "channel_deleted", "channel": "C1"}) == 200

    async def purged() -> bool:
        return await store.get_channel(ref) is None

    await until(purged)
    assert await store.get_channel(other) is not None


async def test_revoked_bot_tokens_purge_the_workspace_but_user_tokens_alone_do_not(
    runtime: SlackRuntime, store: Store
) -> None:
    ref = ChannelRef("slack", TEAM, "C1")
    await store.upsert_channel(Channel(ref))
    users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["UUSER"], "bot": []}}
    assert await post_event(url(runtime), TEAM, users_only) == 200
    assert await store.get_channel(ref) is not None
    bots = {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}
    assert await post_event(url(runtime), TEAM, bots) == 200

    async def purged() -> bool:
        return await store.get_channel(ref) is None

    await until(purged)


def test_redaction_hides_tokens_response_urls_and_oauth_codes() -> None:
    line = (
        "{'access_token': 'xoxb-9-abc', 'refresh_token': 'xoxe-1-zz'} "
        "https://hooks.slack.com/commands/T1/123/abcSECRET "
        "GET /slack/oauth_redirect?code=1234.5678&state=s3cr3t xapp-1-A1-2-zz"
    )
    shown = redact(line)
    for secret in ("xoxb-9-abc", "xoxe-1-zz", "abcSECRET", "1234.5678", "s3cr3t", "xapp-1-A1"):
        assert secret not in shown


async def test_no_token_secret_or_response_url_reaches_any_log_line_at_debug_level(
    runtime: SlackRuntime, slack: SlackFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = command_body(slack, "boom")  # a bug whose message contains the bot token
    assert await post_signed(url(runtime), body) == 200
    assert await post_signed(url(runtime), command_body(slack, "help", response="r2")) == 200
    await slack.wait_for(lambda: len(slack.responses) == 2)
    sink: SlackSink = runtime.sink
    await sink.send(Channel(ChannelRef("slack", TEAM, "C1")), Card(title="alert"), "k1")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "slack_sdk" in text and "chat.postMessage" in text  # the debug log was on
    for secret in (TOKEN, SECRET, slack.response_url("r1"), slack.response_url("r2")):
        assert secret not in text
