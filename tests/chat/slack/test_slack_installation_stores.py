"""Installation and OAuth-state stores live in the Slack namespace of the bot's store:
every instance on that store (SQLite file, shared Redis, one process's memory) sees them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.chat.slack.install import installation_stores
from bot.ports import Store
from bot.stores import open_store
from tests.stores.conftest import REDIS_URL, redis_prefix, redis_store_url, store_url

__all__ = ["redis_prefix", "store_url"]


@pytest.fixture
async def two_stores(store_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """The bot's store as two instances open it."""
    first, second = await open_store(store_url), await open_store(store_url)
    yield first, second
    await first.close()
    await second.close()


def installation(team: str, token: str) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team,
        bot_token=token,
        bot_id="BBOT",
        bot_user_id="UBOT",
        bot_scopes=["commands", "chat:write"],
        user_id="UINSTALLER",
        installed_at=time.time(),
    )


async def test_a_second_instance_finds_the_install_the_first_saved_and_deletion_forgets_it(
    two_stores: tuple[Store, Store],
) -> None:
    first, _ = installation_stores(two_stores[0].keyvalue("slack"), "1111.2222")
    second, _ = installation_stores(two_stores[1].keyvalue("slack"), "1111.2222")
    await first.async_save(installation("T2", "xoxb-2-token"))
    bot = await second.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-2-token"
    found = await second.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None and found.user_id == "UINSTALLER"
    mine = await second.async_find_installation(
        enterprise_id=None, team_id="T2", user_id="UINSTALLER"
    )
    assert mine is not None and mine.bot_token == "xoxb-2-token"
    assert await second.async_find_bot(enterprise_id=None, team_id="T3") is None
    await second.async_delete_all(enterprise_id=None, team_id="T2")
    assert await first.async_find_bot(enterprise_id=None, team_id="T2") is None
    assert await first.async_find_installation(enterprise_id=None, team_id="T2") is None


async def test_an_oauth_state_is_good_once_on_any_instance(two_stores: tuple[Store, Store]) -> None:
    _, first = installation_stores(two_stores[0].keyvalue("slack"))
    _, second = installation_stores(two_stores[1].keyvalue("slack"))
    state = await first.async_issue()
    assert await second.async_consume(state) is True
    assert await first.async_consume(state) is False
    assert await first.async_consume("never-issued") is False


async def test_installs_saved_on_redis_before_the_namespaces_are_found_where_they_were(
    redis_prefix: str,
) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = await open_store(redis_store_url(redis_prefix))
    try:
        installs, _ = installation_stores(store.keyvalue("slack"), "1111.2222")
        await installs.async_save(installation("T2", "xoxb-2-token"))
        # the keys the Redis installation store of the previous release wrote and read
        assert client.exists(f"{redis_prefix}slack:1111.2222:bot:-:T2")
        assert client.hexists(
            f"{redis_prefix}slack:1111.2222:installation:-:T2:users", "UINSTALLER"
        )
    finally:
        await store.close()
        client.close()
