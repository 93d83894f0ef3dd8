"""The attempt log: a key's first send start, shared by every process on one store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.chat.slack.attempts import AttemptLog, MemoryAttempts, StoredAttempts
from bot.stores import open_store
from tests.stores.conftest import RealTime, real_time, redis_prefix, store_url

__all__ = ["real_time", "redis_prefix", "store_url"]


@pytest.fixture
async def two_logs(store_url: str, real_time: RealTime) -> AsyncIterator[tuple[AttemptLog, ...]]:
    """Two processes' attempt logs: each opens the store on its own."""
    first = await open_store(store_url, time_source=real_time)
    second = await open_store(store_url, time_source=real_time)
    yield StoredAttempts(first.keyvalue("slack")), StoredAttempts(second.keyvalue("slack"))
    await first.close()
    await second.close()


async def test_a_key_started_by_one_process_is_seen_by_another(
    two_logs: tuple[AttemptLog, AttemptLog],
) -> None:
    first, second = two_logs
    assert await first.mark("k1") is None
    started = await second.mark("k1")
    assert started is not None and started > 1e9  # epoch seconds
    assert await second.mark("k1") == started  # the first start is kept


async def test_a_forgotten_key_starts_afresh(two_logs: tuple[AttemptLog, AttemptLog]) -> None:
    first, second = two_logs
    await first.mark("k2")
    await second.forget("k2")
    assert await first.mark("k2") is None


async def test_memory_attempts_remember_within_one_process() -> None:
    log = MemoryAttempts(wall=lambda: 123.0)
    assert await log.mark("k") is None
    assert await log.mark("k") == 123.0
