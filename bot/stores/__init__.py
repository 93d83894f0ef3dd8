"""SQLite, Redis and in-memory implementations of the store roles (`bot/ports/store.py`);
`open_store(url)` picks one — only the composition root and the CLI's store tools call it."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.domain.model import redact_url
from bot.ports.store import Store, StoreError, StoreMissing, StoreUnavailable

__all__ = ["Store", "StoreError", "StoreMissing", "StoreUnavailable", "make_store", "open_store"]


def make_store(
    url: str, *, create: bool = True, time_source: Callable[[], float] = time.time
) -> Store:
    """The store for `url` (`sqlite:///path.db`, `redis://host:port/db?prefix=p:` or
    `memory://`), unopened.

    `create=False` opens an existing store only: a missing SQLite file is StoreUnavailable
    instead of a new empty database (for read-only tools such as `python -m bot outbox`).
    `time_source` is the real time (epoch seconds) of leases and due times; tests pass one
    they can advance.
    """
    if url.startswith("sqlite:"):
        from bot.stores.sqlite import SqliteStore

        return SqliteStore(url, create=create, time_source=time_source)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from bot.stores.redis_store import RedisStore

        return RedisStore(url, create=create, time_source=time_source)
    if url.startswith("memory:"):
        from bot.stores.memory import MemoryStore

        return MemoryStore(url, time_source=time_source)
    raise StoreUnavailable(
        f"unsupported store URL {redact_url(url)}"
        " (use sqlite:///file.db, redis://host:port/db or memory://)"
    )


async def open_store(
    url: str, *, create: bool = True, time_source: Callable[[], float] = time.time
) -> Store:
    """Build, connect and migrate the store; raises StoreUnavailable naming the redacted URL."""
    store = make_store(url, create=create, time_source=time_source)
    await store.open()
    return store
