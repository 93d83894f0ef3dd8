"""SQLite store: the embedded default (WAL, versioned migrations, leased outbox rows).

All database work runs on one private thread per store; several processes may share the
file (claims and leases take `BEGIN IMMEDIATE`, the write lock). The outbound path lives in
`sqlite_outbox.py` (claims, events, charts) and `sqlite_leases.py`, the connection in
`sqlite_base.py`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from bot.domain.chain import ChainLink
from bot.domain.model import (
    Channel,
    ChannelRef,
    Language,
    Subscription,
    SubscriptionKind,
    TriggerPolicy,
    stamp,
)
from bot.ports.store import StoreError
from bot.stores.sqlite_base import sqlite_path
from bot.stores.sqlite_controls import SqliteControls, channel_from_row, snooze_columns
from bot.stores.sqlite_kv import SqliteKeyValue
from bot.stores.sqlite_leases import SqliteLeases
from bot.stores.sqlite_outbox import SqliteOutbox
from bot.stores.sqlite_triggers import forget_state

__all__ = ["SqliteStore", "sqlite_path"]


@lru_cache(maxsize=256)
def _policy(text: str) -> TriggerPolicy:
    return TriggerPolicy.parse(text)


def _sub_from_row(row: sqlite3.Row) -> Subscription:
    return Subscription(
        channel=ChannelRef.from_key(row["channel_key"]),
        rule_id=row["rule_id"],
        kind=row["kind"],
        expression=row["expression"],
        policy=_policy(row["policy"]),
        expires=date.fromisoformat(row["expires"]) if row["expires"] else None,
        digest_time=row["digest_time"],
        digest_zone=row["digest_zone"],
        muted=bool(row["muted"]),
    )


_CHANNEL_TABLES = ("subscriptions", "triggers", "digests", "saved_rules", "held", "requests")
"""Tables with a `channel_key` column that purging a channel empties of its rows."""


class SqliteStore(SqliteOutbox, SqliteLeases, SqliteControls):
    """Store on one SQLite file."""

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
            channel.timezone or "",
            int(channel.active),
            channel.inactive_reason,
            channel.mention,
            *snooze_columns(channel.snooze),
            None if channel.watchlist is None else json.dumps(list(channel.watchlist)),
        )
        # An upsert, never INSERT OR REPLACE: a replaced row would cascade-delete the
        # channel's subscriptions.
        sql = (
            "INSERT INTO channels (key, platform, workspace_id, channel_id, language, timezone,"
            " active, inactive_reason, mention, snooze_until, snooze_drop, watchlist)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET"
            " platform = excluded.platform, workspace_id = excluded.workspace_id,"
            " channel_id = excluded.channel_id, language = excluded.language,"
            " timezone = excluded.timezone, active = excluded.active,"
            " inactive_reason = excluded.inactive_reason, mention = excluded.mention,"
            " snooze_until = excluded.snooze_until, snooze_drop = excluded.snooze_drop,"
            " watchlist = excluded.watchlist"
        )
        await self._tx(lambda c: c.execute(sql, row))

    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        row = await self._run(
            lambda c: c.execute("SELECT * FROM channels WHERE key = ?", (ref.key,)).fetchone()
        )
        return None if row is None else channel_from_row(ref, row)

    async def _update_channel(self, ref: ChannelRef, sql: str, args: tuple[Any, ...]) -> None:
        count = await self._tx(lambda c: c.execute(sql, (*args, ref.key)).rowcount)
        if count == 0:
            raise StoreError(f"unknown channel {ref.key}")

    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language."""
        await self._update_channel(
            ref, "UPDATE channels SET language = ? WHERE key = ?", (language,)
        )

    async def set_timezone(self, ref: ChannelRef, zone: str | None) -> None:
        """Choose a known channel's zone (None: follow its language)."""
        await self._update_channel(
            ref, "UPDATE channels SET timezone = ? WHERE key = ?", (zone or "",)
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
            int(s.muted),
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
                forget_state(c, s.rule_id, s.channel.key)
            c.execute(
                "INSERT INTO subscriptions (channel_key, kind, rule_id, expression, policy,"
                " expires, digest_time, digest_zone, muted) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(channel_key, kind, rule_id) DO UPDATE SET"
                " expression = excluded.expression, policy = excluded.policy,"
                " expires = excluded.expires, digest_time = excluded.digest_time,"
                " digest_zone = excluded.digest_zone, muted = excluded.muted",
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
                forget_state(c, rule_id, ref.key)
            return count

        return await self._tx(remove) > 0

    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""
        sql = "SELECT * FROM subscriptions WHERE channel_key = ? ORDER BY kind, rule_id"
        rows = await self._run(lambda c: c.execute(sql, (ref.key,)).fetchall())
        return [_sub_from_row(row) for row in rows]

    async def recipients(
        self, rule_id: str, *, now: datetime, kind: SubscriptionKind = "alert"
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now`, not muted."""
        today = now.date().isoformat()
        sql = (
            "SELECT s.* FROM subscriptions s JOIN channels c ON c.key = s.channel_key"
            " WHERE s.rule_id = ? AND s.kind = ? AND c.active = 1 AND s.muted = 0"
            " AND (s.expires IS NULL OR s.expires >= ?) ORDER BY s.channel_key"
        )
        rows = await self._run(lambda c: c.execute(sql, (rule_id, kind, today)).fetchall())
        return [_sub_from_row(row) for row in rows]

    async def custom_rules(self, now: datetime) -> list[Subscription]:
        """Alert subscriptions with an expression, of active channels, not expired, not muted."""
        sql = (
            "SELECT s.* FROM subscriptions s JOIN channels c ON c.key = s.channel_key"
            " WHERE s.kind = 'alert' AND s.expression IS NOT NULL AND c.active = 1"
            " AND s.muted = 0"
            " AND (s.expires IS NULL OR s.expires >= ?) ORDER BY s.channel_key, s.rule_id"
        )
        today = now.date().isoformat()
        rows = await self._run(lambda c: c.execute(sql, (today,)).fetchall())
        return [_sub_from_row(row) for row in rows]

    async def set_mention(self, ref: ChannelRef, mention: str | None) -> None:
        """Set (or clear) who the channel's alerts ping."""
        await self._update_channel(ref, "UPDATE channels SET mention = ? WHERE key = ?", (mention,))

    def keyvalue(self, namespace: str) -> SqliteKeyValue:
        """An adapter's key-value namespace in this file (the `kv` table)."""
        return SqliteKeyValue(self, namespace)

    # -- purging, run claims, digest slots ------------------------------------------------

    @staticmethod
    def _purge(c: sqlite3.Connection, keys: list[str]) -> int:
        count = 0
        for key in keys:
            count += c.execute("DELETE FROM channels WHERE key = ?", (key,)).rowcount
            for table in _CHANNEL_TABLES:
                c.execute(f"DELETE FROM {table} WHERE channel_key = ?", (key,))
            c.execute("DELETE FROM deliveries WHERE channel_key = ?", (key,))
        return count

    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a channel: its subscriptions, trigger state, history and pending items."""
        await self._tx(lambda c: self._purge(c, [ref.key]))

    async def purge_workspace(self, platform: str, workspace_id: str) -> int:
        """Purge every channel of a workspace; how many."""

        def purge(c: sqlite3.Connection) -> int:
            sql = "SELECT key FROM channels WHERE platform = ? AND workspace_id = ?"
            keys = [row[0] for row in c.execute(sql, (platform, workspace_id))]
            return self._purge(c, keys)

        return await self._tx(purge)

    async def workspaces(self, platform: str) -> list[str]:
        """Workspace ids with stored channels on `platform`, sorted."""
        sql = "SELECT DISTINCT workspace_id FROM channels WHERE platform = ? ORDER BY 1"
        rows = await self._run(lambda c: c.execute(sql, (platform,)).fetchall())
        return [row[0] for row in rows]

    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        """True for exactly one caller per (job id, scheduled time); a claim only expires."""
        key = f"{job_id}|{stamp(scheduled)}"
        now = self.time()

        def claim(c: sqlite3.Connection) -> bool:
            c.execute("DELETE FROM runs WHERE expires_at <= ?", (now,))
            cursor = c.execute("INSERT OR IGNORE INTO runs VALUES (?,?)", (key, now + ttl_seconds))
            return bool(cursor.rowcount)

        return await self._tx(claim)

    async def last_digest(self, subscription: Subscription) -> datetime | None:
        """When the subscription's previous digest was queued (None: never)."""
        sql = "SELECT last_at FROM digests WHERE channel_key = ? AND rule_id = ?"
        args = (subscription.channel.key, subscription.rule_id)
        row = await self._run(lambda c: c.execute(sql, args).fetchone())
        return None if row is None else datetime.fromisoformat(row[0])

    async def record_digest(self, subscription: Subscription, at: datetime) -> bool:
        """Remember that slot `at` was queued; False if it (or a later one) already was."""
        args: tuple[Any, ...] = (subscription.channel.key, subscription.rule_id, stamp(at))

        def record(c: sqlite3.Connection) -> bool:
            cursor = c.execute(
                "INSERT INTO digests VALUES (?,?,?) ON CONFLICT(channel_key, rule_id)"
                " DO UPDATE SET last_at = excluded.last_at WHERE excluded.last_at > last_at",
                args,
            )
            return bool(cursor.rowcount)

        return await self._tx(record)

    async def add_chain(self, day: date, links: Sequence[ChainLink]) -> None:
        """Keep the day's alerts (each link once by its key)."""
        rows = [(day.isoformat(), link.key, stamp(link.at), link.to_json()) for link in links]

        def add(c: sqlite3.Connection) -> None:
            c.executemany("INSERT OR IGNORE INTO chain VALUES (?,?,?,?)", rows)

        await self._tx(add)

    async def chain(self, day: date) -> list[ChainLink]:
        """The day's alerts, time-ordered (then by key)."""
        sql = "SELECT doc FROM chain WHERE day = ? ORDER BY at, key"
        rows = await self._run(lambda c: c.execute(sql, (day.isoformat(),)).fetchall())
        return [ChainLink.from_json(row[0]) for row in rows]
