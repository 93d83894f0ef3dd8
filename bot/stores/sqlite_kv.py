"""The SQLite store's key-value namespaces (schema 6): the `kv` table, one row per value
(`field` empty) or per field of a key (`field` = "#name"); expiry on the store's real time."""

from __future__ import annotations

import sqlite3

from bot.stores.sqlite_base import SqliteBase

_SWEEP_EVERY = 1000
"""Expired rows are deleted on every this many writes (reads skip them meanwhile)."""


class SqliteKeyValue:
    """One namespace of small values in the store's file, shared by its processes."""

    def __init__(self, store: SqliteBase, namespace: str) -> None:
        self.namespace = namespace
        self.store = store
        self._writes = 0

    async def get(self, key: str) -> str | None:
        """The key's value, or None (also once it expired)."""
        return await self._read(key, "")

    async def _read(self, key: str, field: str) -> str | None:
        sql = (
            "SELECT value FROM kv WHERE namespace = ? AND key = ? AND field = ?"
            " AND (expires_at IS NULL OR expires_at > ?)"
        )
        args = (self.namespace, key, field, self.store.time())
        row = await self.store._run(lambda c: c.execute(sql, args).fetchone())
        return None if row is None else str(row[0])

    async def set(
        self, key: str, value: str, *, ttl_seconds: float | None = None, only_new: bool = False
    ) -> bool:
        """Store `value` (expiring after `ttl_seconds`); with `only_new`, only into an empty
        (or expired) key."""
        now = self.store.time()
        expires = None if ttl_seconds is None else now + ttl_seconds
        self._writes += 1
        sweep = self._writes % _SWEEP_EVERY == 1

        def put(c: sqlite3.Connection) -> bool:
            if sweep:
                c.execute(
                    "DELETE FROM kv WHERE namespace = ? AND expires_at <= ?", (self.namespace, now)
                )
            c.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ? AND field = '' AND expires_at <= ?",
                (self.namespace, key, now),
            )
            verb = "INSERT OR IGNORE" if only_new else "INSERT OR REPLACE"
            cursor = c.execute(
                f"{verb} INTO kv VALUES (?,?,'',?,?)", (self.namespace, key, value, expires)
            )
            return bool(cursor.rowcount)

        return await self.store._tx(put)

    async def take(self, key: str) -> str | None:
        """Read and delete the key's value in one transaction."""
        now = self.store.time()

        def take(c: sqlite3.Connection) -> str | None:
            row = c.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ? AND field = ''"
                " RETURNING value, expires_at",
                (self.namespace, key),
            ).fetchone()
            if row is None or (row[1] is not None and row[1] <= now):
                return None
            return str(row[0])

        return await self.store._tx(take)

    async def delete(self, *keys: str) -> None:
        """Forget these keys, values and fields alike."""
        rows = [(self.namespace, key) for key in keys]
        sql = "DELETE FROM kv WHERE namespace = ? AND key = ?"
        await self.store._tx(lambda c: c.executemany(sql, rows))

    async def get_field(self, key: str, field: str) -> str | None:
        """One field of the key, or None."""
        return await self._read(key, f"#{field}")

    async def set_field(self, key: str, field: str, value: str) -> None:
        """Store one field of the key."""
        sql = "INSERT OR REPLACE INTO kv VALUES (?,?,?,?,NULL)"
        args = (self.namespace, key, f"#{field}", value)
        await self.store._tx(lambda c: c.execute(sql, args))

    async def delete_field(self, key: str, field: str) -> None:
        """Forget one field of the key."""
        sql = "DELETE FROM kv WHERE namespace = ? AND key = ? AND field = ?"
        await self.store._update(sql, (self.namespace, key, f"#{field}"))
