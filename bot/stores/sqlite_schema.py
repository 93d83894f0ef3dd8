"""SQLite schema, as numbered migrations tracked in `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: channels, subscriptions, trigger state, alerts, outbox
    """
    CREATE TABLE channels (
        key TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        language TEXT NOT NULL,
        timezone TEXT NOT NULL,
        active INTEGER NOT NULL,
        inactive_reason TEXT
    );
    CREATE TABLE subscriptions (
        channel_key TEXT NOT NULL REFERENCES channels(key) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        expression TEXT,
        policy TEXT NOT NULL,
        expires TEXT,
        digest_time TEXT,
        digest_zone TEXT,
        PRIMARY KEY (channel_key, kind, rule_id)
    );
    CREATE INDEX subscriptions_by_rule ON subscriptions (rule_id, kind);
    CREATE TABLE trigger_state (
        channel_key TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (rule_id, channel_key)
    ) WITHOUT ROWID;
    CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        session TEXT NOT NULL,
        severity_rank INTEGER NOT NULL,
        severity TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
        channel_key TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        leased_by TEXT,
        leased_at REAL NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX outbox_pending ON outbox (state, leased_at);
    CREATE INDEX outbox_by_channel ON outbox (channel_key, id);
    """,
    # 2: how often each outbox row was leased (a worker that dies mid-send records no failure)
    """
    ALTER TABLE outbox ADD COLUMN leases INTEGER NOT NULL DEFAULT 0;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file has not seen yet (inside the caller's transaction)."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"database schema version {version} is newer than this program ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
