"""The SQLite store's leases: due rows per platform, renewal, outcomes, parking, listing."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any

from bot.domain.model import ChannelRef, OutboxItem, died_error, retry_delay
from bot.stores.sqlite_base import SqliteBase
from bot.stores.sqlite_outbox import ITEM_SELECT, item_from_row


class SqliteLeases(SqliteBase):
    """Leasing and settling outbox rows on SQLite."""

    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        platforms: Collection[str] | None = None,
    ) -> list[OutboxItem]:
        """Lease due rows, and rows leased longer than `lease_seconds` ago (dead workers).

        A row already leased `max_attempts` times is parked instead (its workers keep dying).
        """
        wanted = None if platforms is None else sorted(platforms)
        if wanted == []:
            return []

        def take(c: sqlite3.Connection) -> list[sqlite3.Row]:
            now = self.time()
            where = "d.state = 'pending' AND d.due_at <= ?"
            args: list[Any] = [now]
            if wanted is not None:
                where += f" AND d.platform IN ({','.join('?' * len(wanted))})"
                args += wanted
            where += " AND (d.leased_by IS NULL OR d.leased_at <= ?)"
            args += [now - lease_seconds, limit]
            sql = f"{ITEM_SELECT} WHERE {where} ORDER BY d.id LIMIT ?"
            rows = c.execute(sql, args).fetchall()
            poison = [row for row in rows if row["leases"] >= max_attempts]
            c.executemany(
                "UPDATE deliveries SET state = 'parked', attempts = ?, last_error = ?,"
                " leased_by = NULL WHERE id = ?",
                [
                    (
                        row["leases"],
                        died_error(row["leases"] - row["attempts"], row["last_error"]),
                        row["id"],
                    )
                    for row in poison
                ],
            )
            live = [row for row in rows if row["leases"] < max_attempts]
            c.executemany(
                "UPDATE deliveries SET leased_by = ?, leased_at = ?, leases = leases + 1"
                " WHERE id = ?",
                [(worker_id, now, row["id"]) for row in live],
            )
            return live

        return [item_from_row(row) for row in await self._tx(take)]

    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Restart the lease if `worker_id` still holds the pending row."""
        sql = (
            "UPDATE deliveries SET leased_at = ? WHERE id = ? AND leased_by = ?"
            " AND state = 'pending'"
        )
        count = await self._tx(
            lambda c: c.execute(sql, (self.time(), int(item.id), worker_id)).rowcount
        )
        return bool(count)

    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item."""
        sql = "UPDATE deliveries SET state = 'done', leased_by = NULL WHERE id = ?"
        await self._update(sql, (int(item.id),))

    async def mark_failed(
        self,
        item: OutboxItem,
        error: str,
        max_attempts: int = 5,
        retry_in: float | None = None,
    ) -> OutboxItem:
        """Count a failure; park after `max_attempts`, else due again after `retry_in`."""

        def fail(c: sqlite3.Connection) -> OutboxItem:
            found = c.execute("SELECT attempts FROM deliveries WHERE id = ?", (int(item.id),))
            attempts = (found.fetchone() or [item.attempts])[0] + 1
            delay = retry_delay(attempts) if retry_in is None else retry_in
            c.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, leased_by = NULL,"
                " due_at = ?, state = CASE WHEN attempts + 1 >= ? THEN 'parked' ELSE state END"
                " WHERE id = ? AND state = 'pending'",
                (error[:1000], self.time() + delay, max_attempts, int(item.id)),
            )
            row = c.execute(f"{ITEM_SELECT} WHERE d.id = ?", (int(item.id),)).fetchone()
            return item_from_row(row)

        return await self._tx(fail)

    async def reschedule(self, item: OutboxItem, due_at: float, reason: str) -> None:
        """Release the lease; due again at `due_at`; the lease counts as no attempt."""
        await self._update(
            "UPDATE deliveries SET leased_by = NULL, due_at = ?, last_error = ?,"
            " leases = max(leases - 1, attempts) WHERE id = ? AND state = 'pending'",
            (due_at, reason[:1000], int(item.id)),
        )

    async def park(self, item: OutboxItem, reason: str) -> None:
        """Stop delivering one item, keeping it with `reason`."""
        await self._update(
            "UPDATE deliveries SET state = 'parked', last_error = ?, leased_by = NULL"
            " WHERE id = ? AND state = 'pending'",
            (reason[:1000], int(item.id)),
        )

    async def park_channel(self, ref: ChannelRef, reason: str) -> int:
        """Park every pending item of a channel with `reason`; how many."""
        return await self._update(
            "UPDATE deliveries SET state = 'parked', last_error = ?, leased_by = NULL"
            " WHERE channel_key = ? AND state = 'pending'",
            (reason[:1000], ref.key),
        )

    async def list_outbox(self) -> list[OutboxItem]:
        """Pending and parked items, oldest first."""
        sql = f"{ITEM_SELECT} WHERE d.state IN ('pending', 'parked') ORDER BY d.id"
        return [item_from_row(row) for row in await self._run(lambda c: c.execute(sql).fetchall())]
