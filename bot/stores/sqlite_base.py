"""The SQLite store's connection: one private thread, WAL, migrations, transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.domain.model import redact_url
from bot.ports.store import StoreError, StoreHealth, StoreMissing, StoreUnavailable
from bot.stores.sqlite_schema import migrate

T = TypeVar("T")


def sqlite_path(url: str) -> str:
    """`sqlite:///rel.db` → `rel.db`; `sqlite:////abs/x.db` → `/abs/x.db`."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"not a sqlite URL: {redact_url(url)}")
    return url.removeprefix("sqlite:///").split("?", 1)[0] or "sputnik.db"


class SqliteBase:
    """Connection handling shared by the SQLite store's parts."""

    def __init__(
        self,
        url: str,
        busy_timeout_ms: int = 10_000,
        *,
        create: bool = True,
        time_source: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.create = create
        """False: open an existing file only (a missing one is StoreUnavailable)."""
        self.time = time_source
        """Real time (epoch seconds) for leases, due times and back-off."""
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self.schema_version: int | None = None
        """The file's `PRAGMA user_version` (its migration number), once open."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._conn is None:
            raise StoreError("store is not open")
        conn = self._conn
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"store {redact_url(self.url)}: {exc}") from exc

    def _write(self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda conn: self._write(conn, fn))

    async def _update(self, sql: str, args: tuple[Any, ...]) -> int:
        count: int = await self._tx(lambda c: c.execute(sql, args).rowcount)
        return count

    async def open(self) -> None:
        """Open the file (WAL), check it and apply pending migrations."""
        if not self.create and not Path(self.path).is_file():
            where = Path(self.path).absolute()
            raise StoreMissing(f"store {redact_url(self.url)} does not exist (no file {where})")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, self._connect)
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise StoreUnavailable(f"cannot open store {redact_url(self.url)}: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        target, uri = self.path, False
        if not self.create:  # never create the file, even if it vanished since the check
            target, uri = Path(self.path).absolute().as_uri() + "?mode=rw", True
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database file failed its integrity check")
            self._write(conn, migrate)
            self.schema_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except BaseException:
            conn.close()
            raise
        return conn

    async def health(self) -> StoreHealth:
        """Reachable (a read through the store's thread), schema, a file on disk."""
        await self._run(lambda c: c.execute("SELECT 1").fetchone())
        detail = f"{redact_url(self.url)} reachable, schema {self.schema_version}"
        return StoreHealth("SQLite", detail, "ok", "SQLite file (durable on disk)")

    def run_lock(self) -> Path | None:
        """`<file>.run.lock`: SQLite is single-instance (None for an in-memory database)."""
        if self.path == ":memory:":
            return None
        return Path(f"{self.path}.run.lock")

    async def close(self) -> None:
        """Close the connection and its thread."""
        if self._conn is not None:
            await self._run(lambda conn: conn.close())
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
