"""Fixtures for the store contract: one SQLite file, Redis key prefix or named in-memory store
per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bot.stores import Store, open_store

REDIS_URL = os.environ.get("SPUTNIK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_store_url(prefix: str) -> str:
    """The test Redis with a key prefix of this test's own."""
    joiner = "&" if "?" in REDIS_URL else "?"
    return f"{REDIS_URL}{joiner}prefix={prefix}"


def delete_prefix(prefix: str) -> None:
    """Remove every key a test created under its prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A fresh key prefix in the test Redis, deleted afterwards."""
    prefix = f"sputnik-test:{uuid.uuid4().hex[:12]}:"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {REDIS_URL} ({exc}); run the tests through `make test`")
    yield prefix
    delete_prefix(prefix)


STORE_KINDS = ["sqlite", "redis", "memory"]
"""Every store implementation: the contract runs against each."""


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for each store kind, isolated to this test (`memory://NAME`: one store per test
    that reopening the URL finds again, as it finds a file or a Redis prefix)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sputnik.db'}"
    if request.param == "memory":
        return f"memory://test-{uuid.uuid4().hex[:12]}"
    prefix: str = request.getfixturevalue("redis_prefix")
    return redis_store_url(prefix)


@pytest.fixture(params=["sqlite", "redis"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for each store that several processes share (not the in-memory one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sputnik.db'}"
    prefix: str = request.getfixturevalue("redis_prefix")
    return redis_store_url(prefix)


@dataclass
class RealTime:
    """The stores' real-time source (leases, due times, back-off), advanced by the test."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` of real time pass, without sleeping."""
        self.now += seconds


@pytest.fixture
def real_time() -> RealTime:
    """A real-time source that stands still until the test advances it."""
    return RealTime()


@pytest.fixture
async def store(store_url: str, real_time: RealTime) -> AsyncIterator[Store]:
    """An open store of each kind, on the test's real-time source."""
    opened = await open_store(store_url, time_source=real_time)
    yield opened
    await opened.close()


@pytest.fixture
async def shared_store(shared_store_url: str, real_time: RealTime) -> AsyncIterator[Store]:
    """An open store that another process can open too, on the test's real-time source."""
    opened = await open_store(shared_store_url, time_source=real_time)
    yield opened
    await opened.close()
