"""Lifecycle events the bot must not lose track of: leaving, archiving, and a store outage.

The store is a Redis of the test's own, stopped by its pid mid-test: every lifecycle event
is still answered 200, its listener logs one warning naming what it could not do, and
the app keeps answering.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import build_services
from bot.chat.slack.app import EVENTS_PATH, SlackRuntime, build_runtime
from bot.domain.model import Channel, ChannelRef
from bot.ports.store import Store
from bot.services import Core
from bot.settings import build_settings
from bot.stores import open_store
from tests.chat.slack.conftest import TEAM, TOKEN
from tests.chat.slack.slack_helpers import SECRET, HeldCommands, post_event
from tests.fakes.slack_fake import SlackFake
from tests.stores.own_redis import OwnRedis, scratch_redis


async def start_runtime(slack: SlackFake, store: Store, core: Core) -> SlackRuntime:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    settings = build_settings({"slack": {"mode": "http", "port": 0, "api_base": slack.url}})
    built = build_runtime(settings, build_services(core, store), HeldCommands().registry(), env)
    assert built is not None
    await built.start()
    return built


__all__ = ["scratch_redis"]  # the fixture, re-used


def url(runtime: SlackRuntime) -> str:
    return f"http://127.0.0.1:{runtime.port}{EVENTS_PATH}"


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def runtime(slack: SlackFake, store: Store, core: Core) -> AsyncIterator[SlackRuntime]:
    running = await start_runtime(slack, store, core)
    yield running
    await running.close()


@pytest.mark.parametrize(
    ("event", "reason"),
    [("channel_left", "left the channel"), ("channel_archive", "is_archived")],
)
async def test_the_bot_leaving_or_the_channel_archived_deactivates_it_with_the_reason(
    runtime: SlackRuntime, store: Store, event: str, reason: str
) -> None:
    ref = ChannelRef("slack", TEAM, "C1")
    await store.upsert_channel(Channel(ref))
    assert await post_event(url(runtime), TEAM, {"type": event, "channel": "C1"}) == 200
    for _ in range(500):
        found = await store.get_channel(ref)
        if found is not None and not found.active:
            break
        await asyncio.sleep(0.01)
    assert found is not None and not found.active
    assert reason in (found.inactive_reason or "")


async def test_lifecycle_events_during_a_store_outage_are_answered_and_logged(
    slack: SlackFake, core: Core, scratch_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_store(scratch_redis.url)
    runtime = await start_runtime(slack, store, core)
    try:
        await store.upsert_channel(Channel(ChannelRef("slack", TEAM, "C1")))
        scratch_redis.kill()  # the store goes away
        with caplog.at_level(logging.WARNING, logger="bot.chat"):
            for event in ("channel_archive", "channel_deleted", "app_uninstalled"):
                body = {"type": event, "channel": "C1"}
                assert await post_event(url(runtime), TEAM, body) == 200
            await until(lambda: "could not purge slack workspace" in caplog.text)
            await until(lambda: "could not purge slack:" in caplog.text)
            await until(lambda: "could not deactivate slack:" in caplog.text)
    finally:
        await runtime.close()
        await store.close()
    assert TOKEN not in caplog.text
