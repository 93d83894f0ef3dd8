"""Trigger policies as traders write them, and the SQLite schema's versioning."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.model import TriggerPolicy, parse_duration
from bot.stores import open_store
from bot.stores.sqlite_schema import MIGRATIONS


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("", TriggerPolicy()),
        ("session", TriggerPolicy()),
        ("once_per_session", TriggerPolicy()),
        ("once", TriggerPolicy("once")),
        ("cooldown=30m", TriggerPolicy("cooldown", 1800)),
        ("cooldown 2h", TriggerPolicy("cooldown", 7200)),
        ("Cooldown=1d", TriggerPolicy("cooldown", 86400)),
        ("cooldown=1h30m", TriggerPolicy("cooldown", 5400)),
    ],
)
def test_trigger_policy_is_read_from_tradingview_style_text(
    text: str, policy: TriggerPolicy
) -> None:
    assert TriggerPolicy.parse(text) == policy


@pytest.mark.parametrize(
    "text", ["twice", "cooldown=", "cooldown=soon", "cooldown=0m", "cooldown=5x"]
)
def test_nonsense_trigger_policy_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        TriggerPolicy.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "cooldown=99999999999d",
        "cooldown=366d",
        "cooldown=53w",
        "cooldown=365d1s",
        "cooldown=" + "9" * 5000,
    ],
)
def test_cooldown_over_365_days_is_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 365 days"):
        TriggerPolicy.parse(text)
    with pytest.raises(ValueError, match="365 days"):
        TriggerPolicy("cooldown", 365 * 86400 + 1)
    assert TriggerPolicy.parse("cooldown=365d") == TriggerPolicy("cooldown", 365 * 86400)
    assert parse_duration("52w") == 52 * 604800


@given(st.integers(min_value=1, max_value=10**7))
def test_trigger_policy_text_reads_back_as_the_same_policy(seconds: int) -> None:
    policy = TriggerPolicy("cooldown", seconds)
    assert TriggerPolicy.parse(policy.text()) == policy
    assert parse_duration(policy.text().split("=")[1]) == seconds


async def test_sqlite_schema_is_versioned_and_reopening_applies_nothing_twice(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'sputnik.db'}"
    for _ in range(2):
        store = await open_store(url)
        await store.close()
    with sqlite3.connect(tmp_path / "sputnik.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_version_1_file_gains_lease_counts_and_its_pending_items_still_deliver(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sputnik.db"
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO alerts VALUES ('a1', 'deepseek', '2025-01-27', 2, 'shock', "
            "'2025-01-27T15:00:00+00:00', '{\"SOX\": -9.15}')"
        )
        conn.execute(
            "INSERT INTO outbox (idempotency_key, alert_id, channel_key, attempts, created_at)"
            " VALUES ('k1', 'a1', 'discord:g:c', 2, 0)"
        )
    store = await open_store(f"sqlite:///{path}")
    try:
        [item] = await store.lease("w", max_attempts=3)
        assert (item.idempotency_key, item.attempts, item.alert_ids) == ("k1", 2, ("a1",))
        [alert] = await store.alert_events(item.alert_ids)
        assert (alert.rule_id, alert.payload) == ("deepseek", {"SOX": -9.15})
        assert await store.renew(item, "w")
        await store.mark_delivered(item)
        assert await store.list_outbox() == []
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 7
        assert conn.execute("SELECT leases FROM deliveries").fetchone()[0] == 1
