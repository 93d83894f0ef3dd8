"""The key-value namespaces adapters are handed: one contract on every store, expiry, and a
schema-5 SQLite file (before the namespaces) that opens with everything it had."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import redis

from bot.domain.model import ChannelRef
from bot.stores import Store, open_store
from bot.stores.sqlite_schema import MIGRATIONS
from tests.stores.conftest import REDIS_URL, RealTime, redis_store_url
from tests.stores.test_store_today import restore_sqlite


async def test_a_value_is_set_read_replaced_and_deleted(store: Store) -> None:
    slack = store.keyvalue("slack")
    assert await slack.get("installation:T1") is None
    assert await slack.set("installation:T1", '{"team": "T1"}')
    assert await slack.get("installation:T1") == '{"team": "T1"}'
    assert await slack.set("installation:T1", '{"team": "T1", "v": 2}')
    assert await slack.get("installation:T1") == '{"team": "T1", "v": 2}'
    await slack.delete("installation:T1", "never-set")
    assert await slack.get("installation:T1") is None


async def test_only_the_first_of_two_set_if_absent_calls_stores_its_value(store: Store) -> None:
    attempts = store.keyvalue("slack")
    assert await attempts.set("attempt:k1", "100.0", ttl_seconds=86_400, only_new=True)
    assert not await attempts.set("attempt:k1", "200.0", ttl_seconds=86_400, only_new=True)
    assert await attempts.get("attempt:k1") == "100.0"


async def test_a_taken_value_is_gone_for_the_next_taker(store: Store) -> None:
    states = store.keyvalue("slack")
    await states.set("oauth-state:abc", "1", ttl_seconds=600)
    assert await states.take("oauth-state:abc") == "1"
    assert await states.take("oauth-state:abc") is None
    assert await states.take("never-issued") is None


async def test_fields_of_a_key_are_kept_apart_and_deleted_with_it(store: Store) -> None:
    kv = store.keyvalue("slack")
    await kv.set_field("installation:T1:users", "U1", "first")
    await kv.set_field("installation:T1:users", "U2", "second")
    assert await kv.get_field("installation:T1:users", "U1") == "first"
    await kv.delete_field("installation:T1:users", "U1")
    assert await kv.get_field("installation:T1:users", "U1") is None
    assert await kv.get_field("installation:T1:users", "U2") == "second"
    await kv.delete("installation:T1:users")
    assert await kv.get_field("installation:T1:users", "U2") is None


async def test_namespaces_do_not_see_each_others_keys(store: Store) -> None:
    await store.keyvalue("slack").set("k", "slack's")
    await store.keyvalue("telegram").set("k", "telegram's")
    assert await store.keyvalue("slack").get("k") == "slack's"
    await store.keyvalue("telegram").delete("k")
    assert await store.keyvalue("slack").get("k") == "slack's"


async def test_values_outlive_the_store_object_that_wrote_them(store_url: str) -> None:
    first = await open_store(store_url)
    await first.keyvalue("slack").set("bot:T1", "xoxb")
    await first.close()
    again = await open_store(store_url)
    try:
        assert await again.keyvalue("slack").get("bot:T1") == "xoxb"
    finally:
        await again.close()


async def test_an_expired_value_reads_as_absent_and_its_key_is_free_again(
    tmp_path: Path, real_time: RealTime
) -> None:
    # Expiry follows the store's real-time source on SQLite and in memory; Redis expires on
    # its own clock (next test).
    for url in (f"sqlite:///{tmp_path / 'kv.db'}", "memory://"):
        store = await open_store(url, time_source=real_time)
        kv = store.keyvalue("slack")
        await kv.set("oauth-state:s", "1", ttl_seconds=600)
        await kv.set("attempt:k", "1", ttl_seconds=600, only_new=True)
        real_time.advance(599)
        assert await kv.get("oauth-state:s") == "1", url
        real_time.advance(2)
        assert await kv.get("oauth-state:s") is None, url
        assert await kv.take("oauth-state:s") is None, url
        assert await kv.set("attempt:k", "2", ttl_seconds=600, only_new=True), url
        assert await kv.get("attempt:k") == "2", url
        await store.close()


async def test_redis_gives_an_expiring_value_its_time_to_live_on_the_server(
    redis_prefix: str,
) -> None:
    store = await open_store(redis_store_url(redis_prefix))
    try:
        kv = store.keyvalue("slack")
        await kv.set("oauth-state:s", "1", ttl_seconds=600)
        await kv.set("installation:T1", "{}")
        client = redis.Redis.from_url(REDIS_URL)
        try:
            assert 0 < client.pttl(f"{redis_prefix}slack:oauth-state:s") <= 600_000
            assert client.pttl(f"{redis_prefix}slack:installation:T1") == -1  # never expires
        finally:
            client.close()
    finally:
        await store.close()


async def test_a_schema_5_sqlite_file_gains_the_namespaces_and_keeps_everything_it_had(
    tmp_path: Path,
) -> None:
    url = restore_sqlite(tmp_path / "schema5.db", 5)  # fixtures/write_schema_5.py wrote it
    store = await open_store(url)
    ko, en = ChannelRef("discord", "4004", "5005"), ChannelRef("slack", "T01", "C02")
    try:
        assert store.schema_version == len(MIGRATIONS) == 7  # type: ignore[attr-defined]
        channel = await store.get_channel(ko)
        assert channel is not None and channel.watchlist == ("NVDA", "AMD")
        assert await store.saved_rules(ko) == {"mine": "NVDA.pct <= -10"}
        [muted] = await store.list_subscriptions(en)
        assert muted.muted
        snooze, held = await store.end_snooze(en)
        assert snooze is not None and snooze.until == datetime(2025, 1, 27, 23, 0, tzinfo=UTC)
        assert held == ["held-1"]
        [item] = await store.list_outbox()
        assert item.channel == ko and item.state == "pending"
        await store.keyvalue("slack").set("bot:T01", "xoxb-kept")
    finally:
        await store.close()
    again = await open_store(url)
    try:
        assert await again.keyvalue("slack").get("bot:T01") == "xoxb-kept"
    finally:
        await again.close()
