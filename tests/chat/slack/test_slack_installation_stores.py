"""Installation and OAuth-state stores follow `[store] url`: SQLite file or shared Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.chat.slack.install import installation_stores, sqlite_sibling
from tests.stores.conftest import delete_prefix, redis_store_url


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sputnik.db'}"
        return
    prefix = f"sputnik-test:{uuid.uuid4().hex[:12]}:"
    yield redis_store_url(prefix)
    delete_prefix(prefix)


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


def test_the_sqlite_installation_file_sits_beside_the_store() -> None:
    assert sqlite_sibling("sqlite:///data/sputnik.db") == Path("data/sputnik-slack.db")
    assert sqlite_sibling("sqlite:////abs/x.db") == Path("/abs/x-slack.db")


async def test_a_second_instance_finds_the_install_the_first_saved_and_deletion_forgets_it(
    store_url: str,
) -> None:
    first, _ = installation_stores(store_url, "1111.2222")
    second, _ = installation_stores(store_url, "1111.2222")
    await first.async_save(installation("T2", "xoxb-2-token"))
    bot = await second.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-2-token"
    found = await second.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None and found.user_id == "UINSTALLER"
    assert await second.async_find_bot(enterprise_id=None, team_id="T3") is None
    await second.async_delete_all(enterprise_id=None, team_id="T2")
    assert await first.async_find_bot(enterprise_id=None, team_id="T2") is None
    assert await first.async_find_installation(enterprise_id=None, team_id="T2") is None


async def test_an_oauth_state_is_good_once_on_any_instance(store_url: str) -> None:
    _, first = installation_stores(store_url)
    _, second = installation_stores(store_url)
    state = await first.async_issue()
    assert await second.async_consume(state) is True
    assert await first.async_consume(state) is False
    assert await first.async_consume("never-issued") is False
