"""The early-warning chain in the store (the `WarningChain` role): one contract on every
store, and a schema-6 SQLite file (before the chain) that opens with everything it had."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from bot.domain.chain import ChainLink
from bot.domain.model import ChannelRef
from bot.stores import Store, open_store
from bot.stores.sqlite_schema import MIGRATIONS
from tests.stores.test_store_today import restore_sqlite

MONDAY, TUESDAY = date(2025, 1, 27), date(2025, 1, 28)


def link(at: str, rule_id: str, value: float, *, market: str = "us", rank: int = 1) -> ChainLink:
    """One alert of the DeepSeek Monday (its figure as the day's tape printed it)."""
    zone = {"tokyo": "Asia/Tokyo", "us": "America/New_York"}[market]
    label = {"tokyo": "TSE", "us": "NYSE"}[market]
    moment = datetime.fromisoformat(at).astimezone(UTC)
    early = moment < datetime(2025, 1, 27, 14, 30, tzinfo=UTC)
    return ChainLink(moment, rule_id, "warning", market, zone, "X", value, early, label, rank)


TOKYO = link("2025-01-27T15:30+09:00", "tokyo_deepseek", -8.61, market="tokyo")
PRE = link("2025-01-27T04:40-05:00", "chip_crash", -3.1)
OPEN = link("2025-01-27T09:30-05:00", "nvda_decoupling", -12.5, rank=2)


async def test_a_days_links_come_back_in_time_order_whatever_order_they_were_added(
    store: Store,
) -> None:
    await store.add_chain(MONDAY, [OPEN, TOKYO])
    await store.add_chain(MONDAY, [PRE])
    assert await store.chain(MONDAY) == [TOKYO, PRE, OPEN]
    assert await store.chain(TUESDAY) == []


async def test_a_link_added_again_is_kept_once_with_what_was_first_stored(store: Store) -> None:
    await store.add_chain(MONDAY, [TOKYO])
    retold = replace(TOKYO, value=-9.0)  # same key: same print, preset
    await store.add_chain(MONDAY, [retold, PRE])
    assert await store.chain(MONDAY) == [TOKYO, PRE]


async def test_the_chain_is_shared_by_every_instance_on_the_store(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        await first.add_chain(MONDAY, [OPEN, TOKYO])
        await second.add_chain(MONDAY, [TOKYO])
        assert await second.chain(MONDAY) == [TOKYO, OPEN]
    finally:
        await first.close()
        await second.close()


async def test_a_schema_6_sqlite_file_gains_the_chain_and_keeps_everything_it_had(
    tmp_path: Path,
) -> None:
    url = restore_sqlite(tmp_path / "schema6.db", 6)  # fixtures/write_schema_6.py wrote it
    store = await open_store(url)
    ko = ChannelRef("discord", "4004", "5005")
    try:
        assert store.schema_version == len(MIGRATIONS) == 7  # type: ignore[attr-defined]
        assert [s.rule_id for s in await store.list_subscriptions(ko)] == ["deepseek"]
        [item] = await store.list_outbox()
        assert item.channel == ko and item.state == "pending"
        assert await store.keyvalue("slack").get("installation:T01") == '{"team": "T01"}'
        assert await store.chain(MONDAY) == []
        await store.add_chain(MONDAY, [TOKYO])
    finally:
        await store.close()
    again = await open_store(url)
    try:
        assert await again.chain(MONDAY) == [TOKYO]
    finally:
        await again.close()
