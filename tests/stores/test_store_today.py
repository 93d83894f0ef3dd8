"""A store written by the code before the channel controls (SQLite schema 4, Redis layout 3)
opens with every new field at its default, keeps what it had, and takes the new fields.

The fixtures were written by that code itself (`fixtures/write_today.py` says how).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis

from bot.domain.model import AlertEvent, Channel, ChannelRef, Snooze, print_id
from bot.stores import Store, open_store
from bot.stores.redis_lua_migrate import LAYOUT
from bot.stores.sqlite_schema import MIGRATIONS
from tests.stores.conftest import REDIS_URL, redis_store_url

FIXTURES = Path(__file__).with_name("fixtures")
KO = ChannelRef("discord", "4004", "5005")
EN = ChannelRef("slack", "T01", "C02")
FIRED = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)


def restore_sqlite(path: Path, version: int) -> str:
    """The schema-`version` file a `fixtures/write_*.py` script wrote, restored from its dump
    (`fixtures/sqlite_schema_<version>.sql`); its store URL."""
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / f"sqlite_schema_{version}.sql").read_text())
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def sqlite_of_today(path: Path) -> str:
    """The schema-4 file `write_today.py` wrote."""
    return restore_sqlite(path, 4)


def redis_of_today(prefix: str) -> str:
    """The layout-3 keys `write_today.py` wrote, restored under `prefix`."""
    dump = json.loads((FIXTURES / "redis_layout_3.json").read_text())
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        for name, entry in dump.items():
            key, value = prefix + name, entry["value"]
            if entry["type"] == "string":
                client.set(key, value)
            elif entry["type"] == "hash":
                client.hset(key, mapping=value)
            elif entry["type"] == "set":
                client.sadd(key, *value)
            elif entry["type"] == "zset":
                client.zadd(key, dict(value))
            else:
                client.rpush(key, *value)
        assert client.get(prefix + "layout") == "3"
    finally:
        client.close()
    return redis_store_url(prefix)


async def check_defaults_and_new_fields(store: Store) -> None:
    """What every store written before the channel controls must show after the upgrade."""
    ko, en = await store.get_channel(KO), await store.get_channel(EN)
    assert ko == Channel(KO, "ko")
    assert en == Channel(EN, "en", "America/New_York", mention="@here")
    assert ko.snooze is None and ko.watchlist is None
    subscriptions = await store.list_subscriptions(KO)
    assert [(s.kind, s.rule_id, s.muted) for s in subscriptions] == [
        ("alert", "custom:NVDA.pct<=-8", False),
        ("alert", "deepseek", False),
        ("alert", "mine", False),
        ("digest", "digest", False),
    ]
    assert await store.saved_rules(KO) == {"mine": "NVDA.pct <= -10"}, "a named rule is kept"
    assert await store.saved_rules(EN) == {}
    now = datetime(2025, 1, 28, tzinfo=UTC)
    assert [s.channel for s in await store.recipients("deepseek", now=now)] == [KO]
    assert await store.ended_snoozes(now + timedelta(days=3650)) == []
    # what was pending still delivers, and the trigger state still holds
    [item] = await store.lease("w", platforms=["discord"])
    assert [e.severity for e in await store.alert_events(item.alert_ids)] == ["critical"]
    [deepseek] = [s for s in subscriptions if s.rule_id == "deepseek"]
    again = AlertEvent("deepseek", date(2025, 1, 27), 3, "critical", FIRED, {}, "x")
    assert await store.claim_and_enqueue([(deepseek, again)], FIRED) == []
    # the new fields take
    assert await store.remove_subscription(KO, "alert", "mine")
    assert await store.saved_rules(KO) == {"mine": "NVDA.pct <= -10"}
    assert await store.set_muted(KO, "alert", "deepseek", True)
    until = FIRED + timedelta(hours=2)
    await store.set_snooze(EN, Snooze(until, drop=True))
    await store.hold_alerts(EN, ["a1"])
    await store.set_watchlist(KO, ["NVDA", "AMD"])
    assert await store.recipients("deepseek", now=now) == []
    assert await store.ended_snoozes(until) == [EN]
    assert await store.end_snooze(EN) == (Snooze(until, True), ["a1"])
    watched = await store.get_channel(KO)
    assert watched is not None and watched.watchlist == ("NVDA", "AMD")
    assert await store.claim_request(KO, "digest_now", FIRED, 600) is None
    await store.observe_false("deepseek", [KO], FIRED + timedelta(hours=1))  # cooldown re-armed
    later = AlertEvent("deepseek", date(2025, 1, 28), 3, "critical", now, {}, print_id(now, "x"))
    assert (await store.claim_and_enqueue([(deepseek, later)], now))[0].channel == KO


async def test_a_schema_4_sqlite_file_opens_with_the_new_fields_defaulted(tmp_path: Path) -> None:
    store = await open_store(sqlite_of_today(tmp_path / "today.db"))
    try:
        assert store.schema_version == len(MIGRATIONS) == 7  # type: ignore[attr-defined]
        await check_defaults_and_new_fields(store)
    finally:
        await store.close()


async def test_a_layout_3_redis_prefix_opens_with_the_new_fields_defaulted(
    redis_prefix: str,
) -> None:
    url = redis_of_today(redis_prefix)
    store = await open_store(url)
    try:
        assert store.schema_version == LAYOUT == 4  # type: ignore[attr-defined]
        await check_defaults_and_new_fields(store)
    finally:
        await store.close()
    reopened = await open_store(url)  # a second open migrates nothing twice
    try:
        assert await reopened.saved_rules(KO) == {"mine": "NVDA.pct <= -10"}
        channel = await reopened.get_channel(EN)
        assert channel is not None and channel.snooze is None
    finally:
        await reopened.close()
