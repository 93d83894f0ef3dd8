"""SQLite store: the embedded default (WAL, versioned migrations, leased outbox rows).

All database work runs on one private thread per store; several processes may share the
file (claims and leases take `BEGIN IMMEDIATE`, the write lock).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.stores.port import (
    AlertEvent,
    Channel,
    ChannelRef,
    Language,
    OutboxItem,
    StoreError,
    StoreUnavailable,
    Subscription,
    SubscriptionKind,
    TriggerPolicy,
    died_error,
    idempotency_key,
    redact_url,
)
from bot.stores.sqlite_schema import migrate
from bot.stores.triggers import TriggerState, after_fire, may_fire

T = TypeVar("T")
_CHUNK = 400  # pairs per lookup query (SQLite binds at most 32,766 parameters)

_OUTBOX_SELECT = (
    "SELECT o.id, o.idempotency_key, o.channel_key, a.rule_id, o.alert_id, a.payload,"
    " o.attempts, o.last_error, o.state, o.leases"
    " FROM outbox o JOIN alerts a ON a.alert_id = o.alert_id"
)


def sqlite_path(url: str) -> str:
    """`sqlite:///rel.db` → `rel.db`; `sqlite:////abs/x.db` → `/abs/x.db`."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"not a sqlite URL: {redact_url(url)}")
    return url.removeprefix("sqlite:///").split("?", 1)[0] or "sputnik.db"


def _sub_from_row(row: sqlite3.Row) -> Subscription:
    return Subscription(
        channel=ChannelRef.from_key(row["channel_key"]),
        rule_id=row["rule_id"],
        kind=row["kind"],
        expression=row["expression"],
        policy=TriggerPolicy.parse(row["policy"]),
        expires=date.fromisoformat(row["expires"]) if row["expires"] else None,
        digest_time=row["digest_time"],
        digest_zone=row["digest_zone"],
    )


def _item_from_row(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=str(row["id"]),
        idempotency_key=row["idempotency_key"],
        channel=ChannelRef.from_key(row["channel_key"]),
        rule_id=row["rule_id"],
        alert_id=row["alert_id"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        state=row["state"],
    )


def _forget_trigger_state(c: sqlite3.Connection, rule_id: str, channel_key: str) -> None:
    """A new or removed subscription starts from scratch (a fresh `once` fires again)."""
    c.execute(
        "DELETE FROM trigger_state WHERE rule_id = ? AND channel_key = ?", (rule_id, channel_key)
    )


class SqliteStore:
    """Store on one SQLite file."""

    def __init__(self, url: str, busy_timeout_ms: int = 10_000, *, create: bool = True) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.create = create
        """False: open an existing file only (a missing one is StoreUnavailable)."""
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

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

    async def open(self) -> None:
        """Open the file (WAL), check it and apply pending migrations."""
        if not self.create and not Path(self.path).is_file():
            where = Path(self.path).absolute()
            raise StoreUnavailable(f"store {redact_url(self.url)} does not exist (no file {where})")
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
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Close the connection and its thread."""
        if self._conn is not None:
            await self._run(lambda conn: conn.close())
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- channels -------------------------------------------------------------------------

    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel."""
        ref = channel.ref
        row = (
            ref.key,
            ref.platform,
            ref.workspace_id,
            ref.channel_id,
            channel.language,
            channel.timezone,
            int(channel.active),
            channel.inactive_reason,
        )
        # An upsert, never INSERT OR REPLACE: a replaced row would cascade-delete the
        # channel's subscriptions.
        sql = (
            "INSERT INTO channels VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET"
            " platform = excluded.platform, workspace_id = excluded.workspace_id,"
            " channel_id = excluded.channel_id, language = excluded.language,"
            " timezone = excluded.timezone, active = excluded.active,"
            " inactive_reason = excluded.inactive_reason"
        )
        await self._tx(lambda c: c.execute(sql, row))

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        row = await self._run(
            lambda c: c.execute("SELECT * FROM channels WHERE key = ?", (ref.key,)).fetchone()
        )
        if row is None:
            return None
        return Channel(
            ref=ref,
            language=row["language"],
            timezone=row["timezone"],
            active=bool(row["active"]),
            inactive_reason=row["inactive_reason"],
        )

    async def _update_channel(self, ref: ChannelRef, sql: str, args: tuple[Any, ...]) -> None:
        count = await self._tx(lambda c: c.execute(sql, (*args, ref.key)).rowcount)
        if count == 0:
            raise StoreError(f"unknown channel {ref.key}")

    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language."""
        await self._update_channel(
            ref, "UPDATE channels SET language = ? WHERE key = ?", (language,)
        )

    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel, remembering why."""
        sql = "UPDATE channels SET active = 0, inactive_reason = ? WHERE key = ?"
        await self._update_channel(ref, sql, (reason,))

    # -- subscriptions --------------------------------------------------------------------

    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace (channel, kind, rule_id); the channel must exist."""
        s = subscription
        row = (
            s.channel.key,
            s.kind,
            s.rule_id,
            s.expression,
            s.policy.text(),
            s.expires.isoformat() if s.expires else None,
            s.digest_time,
            s.digest_zone,
        )

        def add(c: sqlite3.Connection) -> None:
            if (
                c.execute("SELECT 1 FROM channels WHERE key = ?", (s.channel.key,)).fetchone()
                is None
            ):
                raise StoreError(f"unknown channel {s.channel.key}")
            before = c.execute(
                "SELECT policy, expression FROM subscriptions"
                " WHERE channel_key = ? AND kind = ? AND rule_id = ?",
                (s.channel.key, s.kind, s.rule_id),
            ).fetchone()
            if (
                s.kind == "alert"
                and before is not None
                and (before["policy"], before["expression"]) != (s.policy.text(), s.expression)
            ):
                _forget_trigger_state(c, s.rule_id, s.channel.key)
            c.execute(
                "INSERT INTO subscriptions VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(channel_key, kind, rule_id) DO UPDATE SET"
                " expression = excluded.expression, policy = excluded.policy,"
                " expires = excluded.expires, digest_time = excluded.digest_time,"
                " digest_zone = excluded.digest_zone",
                row,
            )

        await self._tx(add)

    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription; False if there was none."""
        sql = "DELETE FROM subscriptions WHERE channel_key = ? AND kind = ? AND rule_id = ?"

        def remove(c: sqlite3.Connection) -> int:
            count: int = c.execute(sql, (ref.key, kind, rule_id)).rowcount
            if kind == "alert":
                _forget_trigger_state(c, rule_id, ref.key)
            return count

        return await self._tx(remove) > 0

    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""
        sql = "SELECT * FROM subscriptions WHERE channel_key = ? ORDER BY kind, rule_id"
        rows = await self._run(lambda c: c.execute(sql, (ref.key,)).fetchall())
        return [_sub_from_row(row) for row in rows]

    async def recipients(
        self, rule_id: str, *, kind: SubscriptionKind = "alert", now: datetime | None = None
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now`."""
        today = (now or datetime.now(UTC)).date().isoformat()
        sql = (
            "SELECT s.* FROM subscriptions s JOIN channels c ON c.key = s.channel_key"
            " WHERE s.rule_id = ? AND s.kind = ? AND c.active = 1"
            " AND (s.expires IS NULL OR s.expires >= ?) ORDER BY s.channel_key"
        )
        rows = await self._run(lambda c: c.execute(sql, (rule_id, kind, today)).fetchall())
        return [_sub_from_row(row) for row in rows]

    # -- trigger state + outbox -----------------------------------------------------------

    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy and persist state + outbox rows in one transaction."""
        live = [(s, e) for s, e in alerts if s.kind == "alert" and not s.expired(now)]
        if not live:
            return []
        return await self._tx(lambda c: self._claim(c, live, now.timestamp()))

    def _claim(
        self, c: sqlite3.Connection, alerts: list[tuple[Subscription, AlertEvent]], now: float
    ) -> list[OutboxItem]:
        pairs = sorted({(s.rule_id, s.channel.key) for s, _ in alerts})
        states: dict[tuple[str, str], TriggerState] = {}
        inactive: set[str] = set()
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            marks = ",".join("(?,?)" for _ in chunk)
            flat = [value for pair in chunk for value in pair]
            for rule_id, ckey, text in c.execute(
                "SELECT rule_id, channel_key, state FROM trigger_state"
                f" WHERE (rule_id, channel_key) IN (VALUES {marks})",
                flat,
            ):
                states[(ckey, rule_id)] = TriggerState.decode(text)
            keys = sorted({ckey for _, ckey in chunk})
            in_keys = ",".join("?" * len(keys))
            sql = f"SELECT key FROM channels WHERE active = 0 AND key IN ({in_keys})"
            inactive.update(row[0] for row in c.execute(sql, keys))
        new_states: list[tuple[str, str, str]] = []
        rows: list[tuple[str, str, str, float]] = []
        items: list[OutboxItem] = []
        events: dict[str, AlertEvent] = {}
        for sub, event in alerts:
            ckey = sub.channel.key
            session = event.session.isoformat()
            state = states.get((ckey, sub.rule_id))
            if ckey in inactive or not may_fire(
                sub.policy, state, session, event.severity_rank, now
            ):
                continue
            state = after_fire(state, session, event.severity_rank, now)
            states[(ckey, sub.rule_id)] = state
            new_states.append((ckey, sub.rule_id, state.encode()))
            key = idempotency_key(event.alert_id, sub.channel)
            rows.append((key, event.alert_id, ckey, now))
            events[event.alert_id] = event
            items.append(
                OutboxItem("", key, sub.channel, sub.rule_id, event.alert_id, event.payload)
            )
        c.executemany("INSERT OR REPLACE INTO trigger_state VALUES (?,?,?)", new_states)
        c.executemany(
            "INSERT OR IGNORE INTO alerts VALUES (?,?,?,?,?,?,?)",
            [
                (
                    e.alert_id,
                    e.rule_id,
                    e.session.isoformat(),
                    e.severity_rank,
                    e.severity,
                    e.fired_at.isoformat(),
                    json.dumps(dict(e.payload)),
                )
                for e in events.values()
            ],
        )
        before = c.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
        c.executemany(
            "INSERT OR IGNORE INTO outbox (idempotency_key, alert_id, channel_key, created_at)"
            " VALUES (?,?,?,?)",
            rows,
        )
        # The write lock is ours: every row above `before` was inserted just now.
        ids = dict(
            c.execute("SELECT idempotency_key, id FROM outbox WHERE id > ?", (before,)).fetchall()
        )
        return [
            replace(i, id=str(ids[i.idempotency_key])) for i in items if i.idempotency_key in ids
        ]

    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Re-arm cooldowns: the condition has been false for these channels."""
        rows = [(rule_id, ref.key) for ref in channels]

        def rearm(c: sqlite3.Connection) -> None:
            sql = "SELECT state FROM trigger_state WHERE rule_id = ? AND channel_key = ?"
            updates = []
            for rule, ckey in rows:
                found = c.execute(sql, (rule, ckey)).fetchone()
                if found is not None:
                    state = TriggerState.decode(found[0])
                    if not state.armed:
                        rearmed = TriggerState(
                            state.session, state.rank, state.fired_at, True, state.count
                        )
                        updates.append((rearmed.encode(), rule, ckey))
            c.executemany(
                "UPDATE trigger_state SET state = ? WHERE rule_id = ? AND channel_key = ?", updates
            )

        await self._tx(rearm)

    async def lease(
        self,
        worker_id: str,
        limit: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
    ) -> list[OutboxItem]:
        """Lease new rows, and rows leased longer than `lease_seconds` ago (dead or failed).

        A row already leased `max_attempts` times is parked instead (its workers keep dying).
        """

        def take(c: sqlite3.Connection) -> list[sqlite3.Row]:
            now = time.time()
            rows = c.execute(
                f"{_OUTBOX_SELECT} WHERE o.state = 'pending' AND o.leased_at <= ?"
                " ORDER BY o.id LIMIT ?",
                (now - lease_seconds, limit),
            ).fetchall()
            poison = [row for row in rows if row["leases"] >= max_attempts]
            c.executemany(
                "UPDATE outbox SET state = 'parked', attempts = ?, last_error = ?,"
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
                "UPDATE outbox SET leased_by = ?, leased_at = ?, leases = leases + 1 WHERE id = ?",
                [(worker_id, now, row["id"]) for row in live],
            )
            return live

        return [_item_from_row(row) for row in await self._tx(take)]

    async def renew(self, item: OutboxItem, worker_id: str) -> bool:
        """Restart the lease if `worker_id` still holds the pending row."""
        sql = "UPDATE outbox SET leased_at = ? WHERE id = ? AND leased_by = ? AND state = 'pending'"
        count = await self._tx(
            lambda c: c.execute(sql, (time.time(), int(item.id), worker_id)).rowcount
        )
        return bool(count)

    async def mark_delivered(self, item: OutboxItem) -> None:
        """The platform accepted the item."""
        sql = "UPDATE outbox SET state = 'done', leased_by = NULL WHERE id = ?"
        await self._tx(lambda c: c.execute(sql, (int(item.id),)))

    async def mark_failed(self, item: OutboxItem, error: str, max_attempts: int = 5) -> OutboxItem:
        """Count a failure; park after `max_attempts`."""

        def fail(c: sqlite3.Connection) -> OutboxItem:
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
                " state = CASE WHEN attempts + 1 >= ? THEN 'parked' ELSE state END"
                " WHERE id = ? AND state = 'pending'",
                (error[:1000], max_attempts, int(item.id)),
            )
            row = c.execute(f"{_OUTBOX_SELECT} WHERE o.id = ?", (int(item.id),)).fetchone()
            return _item_from_row(row)

        return await self._tx(fail)

    async def list_outbox(self) -> list[OutboxItem]:
        """Pending and parked items, oldest first."""
        sql = f"{_OUTBOX_SELECT} WHERE o.state IN ('pending', 'parked') ORDER BY o.id"
        return [_item_from_row(row) for row in await self._run(lambda c: c.execute(sql).fetchall())]

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""
        sql = (
            "SELECT a.* FROM outbox o JOIN alerts a ON a.alert_id = o.alert_id"
            " WHERE o.channel_key = ? ORDER BY o.id DESC LIMIT ?"
        )
        rows = await self._run(lambda c: c.execute(sql, (ref.key, limit)).fetchall())
        return [
            AlertEvent(
                rule_id=row["rule_id"],
                session=date.fromisoformat(row["session"]),
                severity_rank=row["severity_rank"],
                severity=row["severity"],
                fired_at=datetime.fromisoformat(row["fired_at"]),
                payload=json.loads(row["payload"]),
            )
            for row in rows
        ]
