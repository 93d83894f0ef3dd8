"""SQLite schema, as numbered migrations tracked in `PRAGMA user_version`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from bot.stores.codec import event_from_doc, event_json
from bot.stores.sqlite_triggers import encode_states

Migration = str | Callable[[sqlite3.Connection], None]

V3_TABLES = """
    ALTER TABLE channels ADD COLUMN mention TEXT;
    CREATE TABLE events (alert_id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE alert_groups (
        id INTEGER PRIMARY KEY,
        ids TEXT NOT NULL UNIQUE,
        print_id TEXT NOT NULL DEFAULT '',
        expires_at TEXT
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        channel_key TEXT NOT NULL,
        platform TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        group_id INTEGER REFERENCES alert_groups(id),
        payload TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        leased_by TEXT,
        leased_at REAL NOT NULL DEFAULT 0,
        leases INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        due_at REAL NOT NULL
    );
    CREATE INDEX deliveries_due ON deliveries (state, platform, due_at);
    CREATE INDEX deliveries_by_channel ON deliveries (channel_key);
    CREATE TABLE charts (key TEXT PRIMARY KEY, png BLOB NOT NULL, created_at REAL NOT NULL);
    CREATE TABLE runs (key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
    CREATE TABLE digests (
        channel_key TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (channel_key, rule_id)
    ) WITHOUT ROWID;
    CREATE TABLE triggers (channel_key TEXT PRIMARY KEY, states TEXT NOT NULL) WITHOUT ROWID
"""


def _script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _to_deliveries(conn: sqlite3.Connection) -> None:
    """Schema 3: events once, grouped deliveries, trigger state per channel; schema-2 outbox
    rows become one-alert items.

    A pending row whose event cannot be read is parked with `outbox item from schema 2: ...`.
    """
    _script(conn, V3_TABLES)
    docs: dict[str, str] = {}
    broken: dict[str, str] = {}
    for row in conn.execute("SELECT * FROM alerts"):
        alert_id = row[0]
        try:
            doc = {
                "rule_id": row[1],
                "session": row[2],
                "severity_rank": row[3],
                "severity": row[4],
                "fired_at": row[5],
                "payload": json.loads(row[6]),
            }
            docs[alert_id] = event_json(event_from_doc(doc))
        except (ValueError, TypeError) as exc:
            broken[alert_id] = f"unreadable alert event ({type(exc).__name__}: {exc})"
    conn.executemany("INSERT INTO events VALUES (?,?)", list(docs.items()))
    rows = conn.execute(
        "SELECT id, idempotency_key, alert_id, channel_key, state, attempts, last_error,"
        " leased_by, leased_at, leases, created_at FROM outbox ORDER BY id"
    ).fetchall()
    groups: dict[str, int] = {}
    for oid, key, alert_id, ckey, state, attempts, error, by, at, leases, created in rows:
        platform = ckey.split(":", 1)[0] if ":" in ckey else ""
        if alert_id not in groups:
            text = json.dumps([alert_id])
            conn.execute("INSERT OR IGNORE INTO alert_groups (ids) VALUES (?)", (text,))
            found = conn.execute("SELECT id FROM alert_groups WHERE ids = ?", (text,)).fetchone()
            groups[alert_id] = found[0]
        reason = broken.get(alert_id)
        if reason is None and alert_id not in docs:
            reason = f"alert event {alert_id} is missing"
        if reason is None and ckey.count(":") < 2:
            reason = f"bad channel key {ckey!r}"
        rule_id = alert_id.split("|", 1)[0]
        if state == "pending" and reason is not None:
            state, error, by = "parked", f"outbox item from schema 2: {reason}", None
        conn.execute(
            "INSERT INTO deliveries (id, idempotency_key, kind, channel_key, platform, rule_id,"
            " group_id, state, attempts, last_error, leased_by, leased_at, leases, created_at,"
            " due_at) VALUES (?,?,'alert',?,?,?,?,?,?,?,?,?,?,?,?)",
            (oid, key, ckey, platform, rule_id, groups[alert_id], state, attempts, error, by,
             at, leases, created, created),
        )  # fmt: skip
    conn.execute("DROP TABLE outbox")
    conn.execute("DROP TABLE alerts")
    states: dict[str, dict[str, str]] = {}
    for ckey, rule_id, state in conn.execute(
        "SELECT channel_key, rule_id, state FROM trigger_state"
    ):
        states.setdefault(ckey, {})[rule_id] = state
    conn.executemany(
        "INSERT INTO triggers VALUES (?,?)",
        [(ckey, encode_states(rules)) for ckey, rules in states.items()],
    )
    conn.execute("DROP TABLE trigger_state")


MIGRATIONS: tuple[Migration, ...] = (
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
    # 3: events once per print, grouped deliveries (alert/digest/notice), charts, run claims,
    #    digest slots, channel mentions
    _to_deliveries,
    # 4: a zone that only repeats the language's default is not the channel's own: it follows
    #    the language from now on (`/lang ko` moves it to Asia/Seoul); `/timezone` sets one
    """
    UPDATE channels SET timezone = '' WHERE (language = 'ko' AND timezone = 'Asia/Seoul')
        OR (language = 'en' AND timezone = 'UTC');
    """,
    # 5: channel controls: snooze (until, drop), the digest's watch list, muted subscriptions,
    #    saved rules apart from their subscriptions (named custom rules move in), alerts held
    #    during a snooze, on-demand request times (`/digest now`)
    """
    ALTER TABLE channels ADD COLUMN snooze_until TEXT;
    ALTER TABLE channels ADD COLUMN snooze_drop INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE channels ADD COLUMN watchlist TEXT;
    CREATE INDEX channels_snoozed ON channels (snooze_until) WHERE snooze_until IS NOT NULL;
    ALTER TABLE subscriptions ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE saved_rules (
        channel_key TEXT NOT NULL REFERENCES channels(key) ON DELETE CASCADE,
        name TEXT NOT NULL,
        expression TEXT NOT NULL,
        PRIMARY KEY (channel_key, name)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO saved_rules SELECT channel_key, rule_id, expression FROM subscriptions
        WHERE kind = 'alert' AND expression IS NOT NULL AND rule_id NOT LIKE 'custom:%';
    CREATE TABLE held (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel_key TEXT NOT NULL,
        alert_id TEXT NOT NULL
    );
    CREATE INDEX held_by_channel ON held (channel_key, id);
    CREATE TABLE requests (
        channel_key TEXT NOT NULL,
        name TEXT NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (channel_key, name)
    ) WITHOUT ROWID;
    """,
    # 6: key-value namespaces handed to adapters (Slack's installations, OAuth states and
    #    attempt log, which lived in a sibling file `<name>-slack.db` before)
    """
    CREATE TABLE kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_at REAL,
        PRIMARY KEY (namespace, key, field)
    ) WITHOUT ROWID;
    CREATE INDEX kv_expiry ON kv (namespace, expires_at) WHERE expires_at IS NOT NULL;
    """,
    # 7: the early-warning chain: the alerts of one trading day, shared by every instance
    """
    CREATE TABLE chain (
        day TEXT NOT NULL,
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (day, key)
    ) WITHOUT ROWID;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file has not seen yet (inside the caller's transaction)."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"database schema version {version} is newer than this program ({len(MIGRATIONS)})"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        if isinstance(step, str):
            _script(conn, step)
        else:
            step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
