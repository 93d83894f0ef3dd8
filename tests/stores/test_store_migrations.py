"""Pending items of the previous SQLite schema (2) and Redis layout (1) still deliver."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import redis

from bot.domain.model import AlertEvent, Channel, ChannelRef
from bot.stores import open_store
from bot.stores.sqlite_schema import MIGRATIONS
from tests.stores.conftest import REDIS_URL, redis_store_url

FIRED = datetime(2025, 1, 27, 15, 5, tzinfo=UTC)
OLD_CHANNEL = {"language": "ko", "timezone": "Asia/Seoul", "active": 1, "inactive_reason": ""}
OLD_ALERT = {
    "rule_id": "deepseek",
    "session": "2025-01-27",
    "severity_rank": 2,
    "severity": "shock",
    "fired_at": "2025-01-27T15:00:00+00:00",
    "payload": {"SOX": -9.15},
}


async def test_schema_2_items_deliver_as_single_alert_messages_and_broken_ones_are_parked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sputnik.db"
    with sqlite3.connect(path) as conn:
        for script in MIGRATIONS[:2]:
            assert isinstance(script, str)
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO channels VALUES ('discord:g:c', 'discord', 'g', 'c', 'ko',"
            " 'Asia/Seoul', 1, NULL)"
        )
        conn.execute(
            "INSERT INTO alerts VALUES ('a1', 'deepseek', '2025-01-27', 2, 'shock', "
            "'2025-01-27T15:00:00+00:00', '{\"SOX\": -9.15}')"
        )
        conn.execute(
            "INSERT INTO alerts VALUES ('a2', 'chip_crash', '2025-01-27', 1, 'warning', "
            "'2025-01-27T15:00:00+00:00', 'not json')"
        )
        rows = [
            ("k1", "a1", "discord:g:c", "pending", 1, "HTTP 503"),
            ("k2", "a2", "discord:g:c", "pending", 0, None),
            ("k3", "gone", "discord:g:c", "pending", 0, None),
            ("k4", "a1", "discord:g:other", "done", 0, None),
        ]
        conn.executemany(
            "INSERT INTO outbox (idempotency_key, alert_id, channel_key, state, attempts,"
            " last_error, created_at) VALUES (?,?,?,?,?,?,0)",
            rows,
        )
        conn.execute(
            "INSERT INTO subscriptions VALUES ('discord:g:c', 'alert', 'deepseek', NULL,"
            " 'session', NULL, NULL, NULL)"
        )
        conn.execute(
            "INSERT INTO trigger_state VALUES ('discord:g:c', 'deepseek',"
            " '2025-01-27|2|1737990000.0|0|1')"
        )
    store = await open_store(f"sqlite:///{path}")
    try:
        [item] = await store.lease("w", platforms=["discord"])
        assert (item.idempotency_key, item.kind, item.alert_ids) == ("k1", "alert", ("a1",))
        assert (item.attempts, item.last_error) == (1, "HTTP 503")
        [event] = await store.alert_events(item.alert_ids)
        assert (event.rule_id, event.payload, event.print_id) == ("deepseek", {"SOX": -9.15}, "")
        assert await store.renew(item, "w")
        await store.mark_delivered(item)
        parked = {i.idempotency_key: i.last_error for i in await store.list_outbox()}
        assert set(parked) == {"k2", "k3"}
        assert all(error.startswith("outbox item from schema 2: ") for error in parked.values())
        assert "gone is missing" in parked["k3"]
        assert [e.rule_id for e in await store.alert_history(item.channel)] == ["deepseek"]
        channel = await store.get_channel(item.channel)
        assert channel is not None and channel.mention is None
        [sub] = await store.list_subscriptions(item.channel)
        again = AlertEvent("deepseek", date(2025, 1, 27), 2, "shock", FIRED)
        assert await store.claim_and_enqueue([(sub, again)], FIRED) == [], "trigger state kept"
        higher = AlertEvent("deepseek", date(2025, 1, 27), 3, "critical", FIRED)
        assert len(await store.claim_and_enqueue([(sub, higher)], FIRED)) == 1
    finally:
        await store.close()


async def test_redis_layout_1_items_deliver_as_single_alert_messages_and_broken_ones_are_parked(
    redis_prefix: str,
) -> None:
    p = redis_prefix
    admin = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        admin.set(f"{p}alert:a1", json.dumps(OLD_ALERT))
        admin.xgroup_create(f"{p}outbox", "deliver", id="0", mkstream=True)
        good = admin.xadd(f"{p}outbox", {"a": "a1", "c": "discord:g:c", "k": "k1", "r": "deepseek"})
        admin.xadd(f"{p}outbox", {"a": "missing", "c": "discord:g:c", "k": "k2", "r": "x"})
        admin.xadd(f"{p}outbox", {"a": "a1", "c": "discord:g:c", "r": "deepseek"})
        admin.xreadgroup("deliver", "old-worker", {f"{p}outbox": ">"}, count=1)  # mid-delivery
        admin.hset(f"{p}outbox:errors", good, json.dumps({"attempts": 1, "last_error": "503"}))
        old_parked = {"a": "a1", "c": "slack:T:c", "k": "kp", "r": "deepseek"}
        old_parked |= {"attempts": 5, "last_error": "HTTP 403"}
        admin.hset(f"{p}outbox:parked", "1-0", json.dumps(old_parked))
        admin.hset(f"{p}channel:discord:g:c", mapping=OLD_CHANNEL)
        admin.sadd(f"{p}channels", "discord:g:c")
        sub = {"e": None, "p": "session", "x": None, "t": None, "z": None}
        admin.hset(f"{p}rule:alert:deepseek", "discord:g:c", json.dumps(sub))
        admin.sadd(f"{p}chsubs:discord:g:c", "alert|deepseek")
        admin.hset(f"{p}trigger:deepseek", "discord:g:c", "2025-01-27|2|1737990000.0|0|1")
    finally:
        admin.close()
    store = await open_store(redis_store_url(p))
    try:
        [item] = await store.lease("w", platforms=["discord"])
        assert (item.idempotency_key, item.kind, item.alert_ids) == ("k1", "alert", ("a1",))
        assert (item.attempts, item.last_error) == (1, "503")
        [event] = await store.alert_events(item.alert_ids)
        assert (event.rule_id, event.payload) == ("deepseek", {"SOX": -9.15})
        assert await store.renew(item, "w")
        await store.mark_delivered(item)
        shown = {i.idempotency_key: (i.state, i.last_error) for i in await store.list_outbox()}
        assert shown.pop("kp") == ("parked", "HTTP 403")
        assert shown.pop("k2") == (
            "parked",
            "outbox item from schema 1: alert event missing is missing",
        )
        [(state, error)] = shown.values()
        assert state == "parked" and error == "outbox item from schema 1: missing fields"
        assert await store.get_channel(item.channel) == Channel(item.channel, "ko", "Asia/Seoul")
        [sub] = await store.list_subscriptions(item.channel)
        again = AlertEvent("deepseek", date(2025, 1, 27), 2, "shock", FIRED)
        assert await store.claim_and_enqueue([(sub, again)], FIRED) == [], "trigger state kept"
    finally:
        await store.close()
    again = await open_store(redis_store_url(p))  # a second open migrates nothing twice
    try:
        assert len(await again.list_outbox()) == 3
    finally:
        await again.close()


async def test_a_version_3_file_lets_default_zones_follow_the_language_and_keeps_chosen_ones(
    tmp_path: Path,
) -> None:
    """Schema 4: a zone that only repeats the language's default becomes 'follows the
    language' (so `/lang ko` moves it to Asia/Seoul); any other zone stays the channel's own."""
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path)
    for number, step in enumerate(MIGRATIONS[:3], start=1):
        if isinstance(step, str):
            conn.executescript(step)
        else:
            step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    rows = [
        ("discord:g:en", "en", "UTC"),
        ("discord:g:ko", "ko", "Asia/Seoul"),
        ("discord:g:ny", "en", "America/New_York"),
    ]
    for key, language, zone in rows:
        platform, workspace, channel = key.split(":")
        conn.execute(
            "INSERT INTO channels VALUES (?,?,?,?,?,?,1,NULL,NULL)",
            (key, platform, workspace, channel, language, zone),
        )
    conn.commit()
    conn.close()

    store = await open_store(f"sqlite:///{path}")
    found = []
    for key, _, _ in rows:
        channel = await store.get_channel(ChannelRef.from_key(key))
        assert channel is not None
        found.append((channel.timezone, channel.zone_name))
    await store.close()
    assert found == [
        (None, "UTC"),
        (None, "Asia/Seoul"),
        ("America/New_York", "America/New_York"),
    ]
