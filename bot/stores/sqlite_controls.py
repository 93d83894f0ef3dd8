"""The SQLite store's channel controls: muted subscriptions, saved rules, snoozes and the
alerts they hold, watch lists and on-demand request times (schema 5)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.domain.model import Channel, ChannelRef, Snooze, SubscriptionKind, stamp
from bot.ports.store import StoreError
from bot.stores.codec import unstamp
from bot.stores.sqlite_base import SqliteBase


def snooze_columns(snooze: Snooze | None) -> tuple[str | None, int]:
    """`snooze_until`, `snooze_drop` of a channel row."""
    if snooze is None:
        return None, 0
    return stamp(snooze.until), int(snooze.drop)


def channel_from_row(ref: ChannelRef, row: sqlite3.Row) -> Channel:
    """A channel from its `channels` row (schema 5)."""
    until = unstamp(row["snooze_until"])
    watch = row["watchlist"]
    return Channel(
        ref=ref,
        language=row["language"],
        timezone=row["timezone"] or None,
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
        mention=row["mention"],
        snooze=None if until is None else Snooze(until, bool(row["snooze_drop"])),
        watchlist=None if watch is None else tuple(json.loads(watch)),
    )


def _require(c: sqlite3.Connection, ref: ChannelRef) -> None:
    if c.execute("SELECT 1 FROM channels WHERE key = ?", (ref.key,)).fetchone() is None:
        raise StoreError(f"unknown channel {ref.key}")


class SqliteControls(SqliteBase):
    """What `/mute`, `/rules`, `/snooze`, `/watchlist` and `/digest now` keep."""

    async def set_muted(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str, muted: bool
    ) -> bool:
        """Mute or unmute one subscription; False if there is none."""
        sql = (
            "UPDATE subscriptions SET muted = ? WHERE channel_key = ? AND kind = ? AND rule_id = ?"
        )
        return await self._update(sql, (int(muted), ref.key, kind, rule_id)) > 0

    async def save_rule(self, ref: ChannelRef, name: str, expression: str) -> None:
        """Keep a named rule in the channel's book (replacing one of that name)."""

        def save(c: sqlite3.Connection) -> None:
            _require(c, ref)
            c.execute(
                "INSERT INTO saved_rules VALUES (?,?,?) ON CONFLICT(channel_key, name)"
                " DO UPDATE SET expression = excluded.expression",
                (ref.key, name, expression),
            )

        await self._tx(save)

    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        """The channel's saved rules, name → expression, by name."""
        sql = "SELECT name, expression FROM saved_rules WHERE channel_key = ? ORDER BY name"
        rows = await self._run(lambda c: c.execute(sql, (ref.key,)).fetchall())
        return {row[0]: row[1] for row in rows}

    async def delete_rule(self, ref: ChannelRef, name: str) -> bool:
        """Forget a saved rule; False if there was none."""
        sql = "DELETE FROM saved_rules WHERE channel_key = ? AND name = ?"
        return await self._update(sql, (ref.key, name)) > 0

    async def set_snooze(self, ref: ChannelRef, snooze: Snooze | None) -> None:
        """Pause a known channel's alerts, or clear the pause (held alerts are kept)."""

        def update(c: sqlite3.Connection) -> None:
            sql = "UPDATE channels SET snooze_until = ?, snooze_drop = ? WHERE key = ?"
            if c.execute(sql, (*snooze_columns(snooze), ref.key)).rowcount == 0:
                raise StoreError(f"unknown channel {ref.key}")

        await self._tx(update)

    async def hold_alerts(self, ref: ChannelRef, alert_ids: Sequence[str]) -> None:
        """Keep alert ids that came during a snooze, in order."""
        rows = [(ref.key, alert_id) for alert_id in alert_ids]
        sql = "INSERT INTO held (channel_key, alert_id) VALUES (?,?)"
        await self._tx(lambda c: c.executemany(sql, rows))

    async def end_snooze(self, ref: ChannelRef) -> tuple[Snooze | None, list[str]]:
        """End the snooze now: the snooze it had and the alert ids it held, both cleared."""

        def end(c: sqlite3.Connection) -> tuple[Snooze | None, list[str]]:
            row = c.execute(
                "SELECT snooze_until, snooze_drop FROM channels WHERE key = ?", (ref.key,)
            ).fetchone()
            until = None if row is None else unstamp(row[0])
            ids = [
                r[0]
                for r in c.execute(
                    "SELECT alert_id FROM held WHERE channel_key = ? ORDER BY id", (ref.key,)
                )
            ]
            c.execute("DELETE FROM held WHERE channel_key = ?", (ref.key,))
            c.execute(
                "UPDATE channels SET snooze_until = NULL, snooze_drop = 0 WHERE key = ?",
                (ref.key,),
            )
            snooze = None if until is None else Snooze(until, bool(row[1]))
            return snooze, list(dict.fromkeys(ids))

        return await self._tx(end)

    async def ended_snoozes(self, now: datetime) -> list[ChannelRef]:
        """Channels whose snooze ended at or before `now`."""
        sql = (
            "SELECT key FROM channels WHERE snooze_until IS NOT NULL AND snooze_until <= ?"
            " ORDER BY key"
        )
        rows = await self._run(lambda c: c.execute(sql, (stamp(now),)).fetchall())
        return [ChannelRef.from_key(row[0]) for row in rows]

    async def set_watchlist(self, ref: ChannelRef, symbols: Sequence[str] | None) -> None:
        """The symbols a known channel's digest covers; None: the configured default."""
        text = None if symbols is None else json.dumps(list(symbols))

        def update(c: sqlite3.Connection) -> None:
            sql = "UPDATE channels SET watchlist = ? WHERE key = ?"
            if c.execute(sql, (text, ref.key)).rowcount == 0:
                raise StoreError(f"unknown channel {ref.key}")

        await self._tx(update)

    async def claim_request(
        self, ref: ChannelRef, name: str, now: datetime, min_interval_seconds: float
    ) -> datetime | None:
        """Record a request at `now` unless one came less than the interval before; None when
        recorded, else that earlier time."""

        def claim(c: sqlite3.Connection) -> datetime | None:
            _require(c, ref)
            row = c.execute(
                "SELECT last_at FROM requests WHERE channel_key = ? AND name = ?", (ref.key, name)
            ).fetchone()
            before = None if row is None else unstamp(row[0])
            if before is not None and (now - before).total_seconds() < min_interval_seconds:
                return before
            c.execute(
                "INSERT INTO requests VALUES (?,?,?) ON CONFLICT(channel_key, name)"
                " DO UPDATE SET last_at = excluded.last_at",
                (ref.key, name, stamp(now)),
            )
            return None

        return await self._tx(claim)
