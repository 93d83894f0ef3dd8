"""SQLite and Redis implementations of one Store contract; `open_store(url)` picks one."""

from __future__ import annotations

from bot.stores.port import Store, StoreError, StoreUnavailable, redact_url

__all__ = ["Store", "StoreError", "StoreUnavailable", "make_store", "open_store", "redact_url"]


def make_store(url: str, *, create: bool = True) -> Store:
    """The store for `url` (`sqlite:///path.db` or `redis://host:port/db?prefix=p:`), unopened.

    `create=False` opens an existing store only: a missing SQLite file is StoreUnavailable
    instead of a new empty database (for read-only tools such as `python -m bot outbox`).
    """
    if url.startswith("sqlite:"):
        from bot.stores.sqlite import SqliteStore

        return SqliteStore(url, create=create)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from bot.stores.redis_store import RedisStore

        return RedisStore(url, create=create)
    raise StoreUnavailable(
        f"unsupported store URL {redact_url(url)} (use sqlite:///file.db or redis://host:port/db)"
    )


async def open_store(url: str, *, create: bool = True) -> Store:
    """Build, connect and migrate the store; raises StoreUnavailable naming the redacted URL."""
    store = make_store(url, create=create)
    await store.open()
    return store
