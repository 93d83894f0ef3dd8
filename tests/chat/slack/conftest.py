"""Fixtures for the Slack adapter tests: the fake Slack on loopback and a SQLite store.

A directory of their own, so the Discord tests' fixtures (tests/chat/conftest.py) never clash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.slack.config import SlackConfig
from bot.ports.store import Store
from bot.stores import open_store
from tests.fakes.slack_fake import SlackFake

TEAM = "T1"
TOKEN = "xoxb-1-secret-bot-token"


@pytest.fixture
async def slack() -> AsyncIterator[SlackFake]:
    """The fake Slack with one workspace (T1) and three users."""
    fake = SlackFake()
    fake.add_workspace(
        TEAM,
        TOKEN,
        UADMIN={"locale": "en-US", "is_admin": True, "name": "ada"},
        UKO={"locale": "ko-KR", "is_admin": False, "name": "minji"},
        UUSER={"locale": "en-US", "is_admin": False, "name": "bob"},
    )
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def config(slack: SlackFake) -> SlackConfig:
    """Settings pointing at the fake: short timeouts, no 429 retries, no pacing (tested apart)."""
    return SlackConfig(api_base=slack.url, timeout=2.0, rate_limit_retries=0, channel_interval=0.0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite store."""
    opened = await open_store(f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield opened
    await opened.close()
