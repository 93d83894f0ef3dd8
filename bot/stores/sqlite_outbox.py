"""The SQLite store's outbound path: claims, events once, grouped deliveries, charts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.model import (
    AlertEvent,
    ChannelRef,
    MessageKind,
    OutboxItem,
    Subscription,
    idempotency_key,
    stamp,
)
from bot.stores.codec import earliest, event_from_json, event_json, unstamp
from bot.stores.sqlite_base import SqliteBase
from bot.stores.sqlite_triggers import States, load_states, save_states
from bot.stores.triggers import TriggerState, after_fire, may_fire

CHUNK = 400  # values per IN (...) query (SQLite binds at most 32,766 parameters)

ITEM_SELECT = (
    "SELECT d.*, g.ids, g.print_id, g.expires_at"
    " FROM deliveries d LEFT JOIN alert_groups g ON g.id = d.group_id"
)
"""A delivery row with its alert group: the ids, print and expiry the group's alerts share."""


def item_from_row(row: sqlite3.Row) -> OutboxItem:
    """An outbox item from a `deliveries` row joined with its alert group."""
    alert_ids = tuple(json.loads(row["ids"])) if row["ids"] else ()
    return OutboxItem(
        id=str(row["id"]),
        idempotency_key=row["idempotency_key"],
        channel=ChannelRef.from_key(row["channel_key"]),
        rule_id=row["rule_id"],
        alert_id=alert_ids[0] if alert_ids else "",
        payload=json.loads(row["payload"]) if row["payload"] else {},
        attempts=row["attempts"],
        last_error=row["last_error"],
        state=row["state"],
        kind=row["kind"],
        alert_ids=alert_ids,
        print_id=row["print_id"] or "",
        created_at=row["created_at"],
        due_at=row["due_at"],
        expires_at=unstamp(row["expires_at"]),
        leased_at=row["leased_at"] if row["leased_by"] is not None else None,
    )


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    """`values` in slices of at most `size`."""
    return [values[start : start + size] for start in range(0, len(values), size)]


@dataclass
class _Group:
    """The alerts one claim adds to one channel's message for one print."""

    channel: ChannelRef
    print_ref: str
    rule_id: str
    alert_ids: list[str] = field(default_factory=list)
    expires: list[datetime | None] = field(default_factory=list)


class _Groups:
    """Interns alert-id lists: 10,000 channels of one print share one `alert_groups` row.

    A group's print and expiry follow from its alerts, so they are stored with it.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[tuple[str, ...], int] = {}

    def id_of(self, alert_ids: Sequence[str], print_ref: str, expires: datetime | None) -> int:
        key = tuple(alert_ids)
        if key not in self.ids:
            text = json.dumps(list(key), separators=(",", ":"))
            self.conn.execute(
                "INSERT OR IGNORE INTO alert_groups (ids, print_id, expires_at) VALUES (?,?,?)",
                (text, print_ref, stamp(expires) if expires else None),
            )
            row = self.conn.execute("SELECT id FROM alert_groups WHERE ids = ?", (text,)).fetchone()
            self.ids[key] = row[0]
        return self.ids[key]


class SqliteOutbox(SqliteBase):
    """Claims and the delivery outbox on SQLite."""

    async def claim_and_enqueue(
        self, alerts: Sequence[tuple[Subscription, AlertEvent]], now: datetime
    ) -> list[OutboxItem]:
        """Apply each trigger policy; persist state, events and grouped rows in one transaction."""
        live = [(s, e) for s, e in alerts if s.kind == "alert" and not s.expired(now)]
        if not live:
            return []
        return await self._tx(lambda c: self._claim(c, live, now.timestamp()))

    @staticmethod
    def _active(c: sqlite3.Connection, channel_keys: set[str]) -> set[str]:
        active: set[str] = set()
        for chunk in chunks(sorted(channel_keys)):
            in_keys = ",".join("?" * len(chunk))
            sql = f"SELECT key FROM channels WHERE active = 1 AND key IN ({in_keys})"
            active.update(row[0] for row in c.execute(sql, chunk))
        return active

    def _claim(
        self, c: sqlite3.Connection, alerts: list[tuple[Subscription, AlertEvent]], now: float
    ) -> list[OutboxItem]:
        channel_keys = {s.channel.key for s, _ in alerts}
        stored = load_states(c, channel_keys)
        active = self._active(c, channel_keys)
        changed: dict[str, States] = {}
        events: dict[str, AlertEvent] = {}
        groups: dict[tuple[str, str], _Group] = {}
        alert_ids: dict[int, str] = {}  # an event's id, computed once (not per channel)
        for sub, event in alerts:
            alert_id = alert_ids.get(id(event))
            if alert_id is None:
                alert_id = alert_ids[id(event)] = event.alert_id
            ckey = sub.channel.key
            session = event.session.isoformat()
            rules = stored.setdefault(ckey, {})
            text = rules.get(sub.rule_id)
            state = TriggerState.decode(text) if text else None
            if ckey not in active or not may_fire(
                sub.policy, state, session, event.severity_rank, now
            ):
                continue
            rules[sub.rule_id] = after_fire(state, session, event.severity_rank, now).encode()
            changed[ckey] = rules
            events[alert_id] = event
            print_ref = event.print_id or alert_id
            group = groups.get((ckey, print_ref))
            if group is None:
                group = groups[(ckey, print_ref)] = _Group(sub.channel, event.print_id, sub.rule_id)
            if alert_id not in group.alert_ids:
                group.alert_ids.append(alert_id)
                group.expires.append(event.expires_at)
        save_states(c, changed)
        c.executemany(
            "INSERT OR IGNORE INTO events VALUES (?,?)",
            [(alert_id, event_json(e)) for alert_id, e in events.items()],
        )
        return self._write_groups(c, list(groups.items()))

    def _write_groups(
        self, c: sqlite3.Connection, groups: list[tuple[tuple[str, str], _Group]]
    ) -> list[OutboxItem]:
        real_now = self.time()
        keys = [idempotency_key(ref, group.channel) for (_, ref), group in groups]
        existing: dict[str, sqlite3.Row] = {}
        for chunk in chunks(keys):
            sql = f"{ITEM_SELECT} WHERE d.idempotency_key IN ({','.join('?' * len(chunk))})"
            existing.update((row["idempotency_key"], row) for row in c.execute(sql, chunk))
        interned = _Groups(c)
        appended: list[tuple[int, int]] = []
        inserts: list[tuple[Any, ...]] = []
        for key, ((_, _ref), group) in zip(keys, groups, strict=True):
            row = existing.get(key)
            if row is not None and row["state"] == "pending" and row["leased_by"] is None:
                ids = [*json.loads(row["ids"]), *group.alert_ids]
                ids = list(dict.fromkeys(ids))
                expires = earliest([unstamp(row["expires_at"]), *group.expires])
                appended.append((interned.id_of(ids, group.print_ref, expires), row["id"]))
                continue
            if row is not None:  # sent or being sent: the new alerts get a message of their own
                key = idempotency_key(f"{group.print_ref}#{group.alert_ids[0]}", group.channel)
            expires = earliest(group.expires)
            inserts.append(
                (
                    key,
                    group.channel.key,
                    group.channel.platform,
                    group.rule_id,
                    interned.id_of(group.alert_ids, group.print_ref, expires),
                    real_now,
                    real_now,
                )
            )
        c.executemany("UPDATE deliveries SET group_id = ? WHERE id = ?", appended)
        before = c.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
        c.executemany(
            "INSERT OR IGNORE INTO deliveries (idempotency_key, kind, channel_key, platform,"
            " rule_id, group_id, created_at, due_at) VALUES (?,'alert',?,?,?,?,?,?)",
            inserts,
        )
        # The write lock is ours: every row above `before` was inserted just now.
        touched = [row_id for _, row_id in appended]
        rows = c.execute(f"{ITEM_SELECT} WHERE d.id > ? ORDER BY d.id", (before,)).fetchall()
        for chunk in chunks(touched):
            sql = f"{ITEM_SELECT} WHERE d.id IN ({','.join('?' * len(chunk))})"
            rows += c.execute(sql, chunk).fetchall()
        return [item_from_row(row) for row in sorted(rows, key=lambda r: r["id"])]

    async def observe_false(
        self, rule_id: str, channels: Sequence[ChannelRef], now: datetime
    ) -> None:
        """Re-arm cooldowns: the condition has been false for these channels."""
        keys = [ref.key for ref in channels]

        def rearm(c: sqlite3.Connection) -> None:
            changed: dict[str, States] = {}
            for ckey, rules in load_states(c, keys).items():
                text = rules.get(rule_id)
                state = TriggerState.decode(text) if text else None
                if state is not None and not state.armed:
                    rules[rule_id] = replace(state, armed=True).encode()
                    changed[ckey] = rules
            save_states(c, changed)

        await self._tx(rearm)

    async def enqueue_message(
        self,
        kind: MessageKind,
        channel: ChannelRef,
        payload: Mapping[str, Any],
        idempotency_key: str,
        *,
        rule_id: str = "",
        due_at: float | None = None,
    ) -> OutboxItem | None:
        """Queue a digest or notice; None if `idempotency_key` exists already."""
        now = self.time()
        row = (
            idempotency_key,
            kind,
            channel.key,
            channel.platform,
            rule_id,
            json.dumps(dict(payload), ensure_ascii=False),
            now,
            now if due_at is None else due_at,
        )

        def add(c: sqlite3.Connection) -> sqlite3.Row | None:
            cursor = c.execute(
                "INSERT OR IGNORE INTO deliveries (idempotency_key, kind, channel_key, platform,"
                " rule_id, payload, created_at, due_at) VALUES (?,?,?,?,?,?,?,?)",
                row,
            )
            if not cursor.rowcount:
                return None
            found: sqlite3.Row = c.execute(
                f"{ITEM_SELECT} WHERE d.id = ?", (cursor.lastrowid,)
            ).fetchone()
            return found

        found = await self._tx(add)
        return None if found is None else item_from_row(found)

    async def alert_events(self, alert_ids: Sequence[str]) -> list[AlertEvent]:
        """The stored events with these ids, in the order asked (unknown ids left out)."""
        wanted = list(dict.fromkeys(alert_ids))

        def read(c: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for chunk in chunks(wanted):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT alert_id, doc FROM events WHERE alert_id IN ({marks})"
                found.update((row[0], row[1]) for row in c.execute(sql, chunk))
            return found

        docs = await self._run(read)
        return [event_from_json(docs[a]) for a in alert_ids if a in docs]

    async def alert_history(self, ref: ChannelRef, limit: int = 20) -> list[AlertEvent]:
        """Alerts enqueued for a channel, newest first."""
        sql = (
            "SELECT g.ids FROM deliveries d JOIN alert_groups g ON g.id = d.group_id"
            " WHERE d.channel_key = ? AND d.kind = 'alert' ORDER BY d.id DESC LIMIT ?"
        )
        rows = await self._run(lambda c: c.execute(sql, (ref.key, limit)).fetchall())
        ids = [alert_id for row in rows for alert_id in reversed(json.loads(row[0]))]
        return (await self.alert_events(list(dict.fromkeys(ids))))[:limit]

    async def put_chart(self, key: str, png: bytes) -> None:
        """Store a chart once under `key`."""
        sql = "INSERT OR IGNORE INTO charts VALUES (?,?,?)"
        await self._update(sql, (key, png, self.time()))

    async def get_chart(self, key: str) -> bytes | None:
        """A stored chart, or None."""
        sql = "SELECT png FROM charts WHERE key = ?"
        row = await self._run(lambda c: c.execute(sql, (key,)).fetchone())
        return None if row is None else bytes(row[0])

    async def prune(self, older_than_seconds: float = 7 * 86400) -> int:
        """Delete delivered rows and charts older than that (not their events); how many rows."""
        cutoff = self.time() - older_than_seconds

        def prune(c: sqlite3.Connection) -> int:
            count: int = c.execute(
                "DELETE FROM deliveries WHERE state = 'done' AND created_at < ?", (cutoff,)
            ).rowcount
            c.execute("DELETE FROM charts WHERE created_at < ?", (cutoff,))
            return count

        return await self._tx(prune)
