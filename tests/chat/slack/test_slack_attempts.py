"""The attempt log: a key's first send start, shared by every process on one store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chat.slack.attempts import AttemptLog, MemoryAttempts, attempt_log
from tests.stores.conftest import delete_prefix, redis_store_url


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sputnik.db'}"
        return
    prefix = f"sputnik-test:{uuid.uuid4().hex[:12]}:"
    yield redis_store_url(prefix)
    delete_prefix(prefix)


def two_logs(store_url: str, tmp_path: Path) -> tuple[AttemptLog, AttemptLog]:
    file = str(tmp_path / "sputnik-slack.db")
    return attempt_log(store_url, file), attempt_log(store_url, file)


async def test_a_key_started_by_one_process_is_seen_by_another(
    store_url: str, tmp_path: Path
) -> None:
    first, second = two_logs(store_url, tmp_path)
    assert await first.mark("k1") is None
    started = await second.mark("k1")
    assert started is not None and started > 1e9  # epoch seconds
    assert await second.mark("k1") == started  # the first start is kept


async def test_a_forgotten_key_starts_afresh(store_url: str, tmp_path: Path) -> None:
    first, second = two_logs(store_url, tmp_path)
    await first.mark("k2")
    await second.forget("k2")
    assert await first.mark("k2") is None


async def test_memory_attempts_remember_within_one_process() -> None:
    log = MemoryAttempts(wall=lambda: 123.0)
    assert await log.mark("k") is None
    assert await log.mark("k") == 123.0
