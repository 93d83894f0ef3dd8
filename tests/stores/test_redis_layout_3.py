"""Redis layout 3: pending items of layout 2 still deliver (and join), buckets stay compact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import redis

from bot.domain.model import (
    AlertEvent,
    Channel,
    ChannelRef,
    Subscription,
    idempotency_key,
    print_id,
    stamp,
)
from bot.stores import open_store
from bot.stores.codec import event_json
from bot.stores.redis_lua_migrate import LAYOUT
from tests.stores.conftest import REDIS_URL, RealTime, redis_store_url

CLOSE = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
NEXT_OPEN = datetime(2025, 1, 28, 14, 30, tzinfo=UTC)
PRINT = print_id(CLOSE, "close")
ALPHA = ChannelRef("discord", "g", "alpha")
SUB = {"e": None, "p": "session", "x": None, "t": None, "z": None}


def fired(rule_id: str, rank: int = 3) -> AlertEvent:
    return AlertEvent(
        rule_id,
        date(2025, 1, 27),
        rank,
        "critical",
        CLOSE,
        {"SOX": -9.15},
        print_id=PRINT,
        expires_at=NEXT_OPEN,
    )


def write_layout_2(p: str, now: float) -> tuple[str, AlertEvent]:
    """What layout 2 left behind: one pending alert item (leased once, failed once), one parked
    item, one pending digest, the channel's trigger state and history; returns the alert's key."""
    first = fired("deepseek")
    key = idempotency_key(PRINT, ALPHA)
    group = "0123456789abcdef"
    admin = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        admin.set(f"{p}alert:{first.alert_id}", event_json(first))
        admin.set(f"{p}group:{group}", f"{PRINT}\n{stamp(NEXT_OPEN)}\n{first.alert_id}")
        state = f"2025-01-27|3|{CLOSE.timestamp()!r}|0|1"
        channel = {"language": "ko", "timezone": "Asia/Seoul", "active": "1"}
        channel |= {"inactive_reason": "", "mention": "", "t:deepseek": state, "h": group}
        admin.hset(f"{p}channel:{ALPHA.key}", mapping=channel)
        admin.sadd(f"{p}channels", ALPHA.key)
        for rule in ("deepseek", "chip_crash"):
            admin.hset(f"{p}rule:alert:{rule}", ALPHA.key, json.dumps(SUB))
            admin.sadd(f"{p}chsubs:{ALPHA.key}", f"alert|{rule}")
        items = {
            key: {"n": 1, "c": ALPHA.key, "st": "pending", "r": "deepseek", "g": group},
            "kp": {"n": 2, "c": ALPHA.key, "st": "parked", "r": "deepseek", "g": group},
            "dg": {"n": 3, "c": ALPHA.key, "st": "pending", "kind": "digest", "r": "daily"},
        }
        items[key] |= {"att": 1, "err": "HTTP 503", "ls": 1, "by": "", "lsec": "60.0"}
        items["kp"] |= {"att": 5, "err": "HTTP 403"}
        items["dg"]["pl"] = json.dumps({"movers": ["NVDA"]})
        for item_id, fields in items.items():
            fields |= {"cr": repr(now - 100), "due": repr(now - 50)}
            admin.hset(f"{p}delivery:{item_id}", mapping=fields)
        admin.zadd(f"{p}dq:discord", {key: now - 50, "dg": now - 50})
        admin.zadd(f"{p}deliveries:parked", {"kp": 2})
        admin.sadd(f"{p}deliveries:platforms", "discord")
        admin.set(f"{p}deliveries:seq", 3)
        admin.set(f"{p}layout", "2")
    finally:
        admin.close()
    return key, first


async def test_layout_2_items_deliver_after_the_upgrade_and_a_claim_joins_them(
    redis_prefix: str, real_time: RealTime
) -> None:
    p = redis_prefix
    key, first = write_layout_2(p, real_time.now)
    store = await open_store(redis_store_url(p), time_source=real_time)
    try:
        deepseek, chip = sorted(
            await store.list_subscriptions(ALPHA), key=lambda s: s.rule_id != "deepseek"
        )
        assert await store.claim_and_enqueue([(deepseek, first)], CLOSE) == [], "state kept"
        second = fired("chip_crash", rank=2)
        [joined] = await store.claim_and_enqueue([(chip, second)], CLOSE)
        assert (joined.id, joined.idempotency_key) == (key, key), "the layout-2 item is joined"
        assert joined.alert_ids == (first.alert_id, second.alert_id)
        leased = {item.id: item for item in await store.lease("w", platforms=["discord"])}
        assert set(leased) == {key, "dg"}
        alert, digest = leased[key], leased["dg"]
        assert (alert.attempts, alert.last_error, alert.expires_at) == (1, "HTTP 503", NEXT_OPEN)
        assert [e.rule_id for e in await store.alert_events(alert.alert_ids)] == [
            "deepseek",
            "chip_crash",
        ]
        assert (digest.kind, digest.payload, digest.rule_id) == (
            "digest",
            {"movers": ["NVDA"]},
            "daily",
        )
        for item in (alert, digest):
            assert await store.renew(item, "w")
            await store.mark_delivered(item)
        [parked] = await store.list_outbox()
        assert (parked.id, parked.state, parked.attempts, parked.last_error) == (
            "kp",
            "parked",
            5,
            "HTTP 403",
        )
        assert [e.rule_id for e in await store.alert_history(ALPHA)][:1] == ["chip_crash"]
        later = fired("chip_crash", rank=3)
        [own] = await store.claim_and_enqueue([(chip, later)], CLOSE)
        assert own.idempotency_key != key, "sent already: the new alert gets its own message"
    finally:
        await store.close()
    admin = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert admin.get(f"{p}layout") == str(LAYOUT)
        channel = admin.hgetall(f"{p}channel:{ALPHA.key}")
        assert channel["t:deepseek"] == f"20250127|3|{int(CLOSE.timestamp())}", "compact"
        assert "mention" not in channel and "inactive_reason" not in channel
    finally:
        admin.close()


async def test_a_print_fanned_out_to_many_channels_keeps_its_buckets_small(
    redis_prefix: str,
) -> None:
    """Under the default listpack limits even with 19-digit Discord ids, 7-digit order numbers
    and a host-pid worker id, queued and leased."""
    p = redis_prefix
    store = await open_store(redis_store_url(p))
    guild = "1234567890123456789"
    refs = [ChannelRef("discord", guild, f"{n:019d}") for n in range(700)]

    def assert_compact() -> None:
        admin = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            buckets = list(admin.scan_iter(match=f"{p}ob:*", count=1000))
            assert len(buckets) >= 700 // 64
            for bucket in buckets:
                rows = admin.hgetall(bucket)
                assert len(rows) < 128, "hash-max-listpack-entries (default 128)"
                longest = max(len(v) for v in [*rows, *rows.values()])
                assert longest <= 64, "hash-max-listpack-value (64)"
        finally:
            admin.close()

    try:
        admin = redis.Redis.from_url(REDIS_URL)
        admin.set(f"{p}deliveries:seq", 3_000_000)
        admin.close()
        pairs = []
        for ref in refs:
            await store.upsert_channel(Channel(ref))
            sub = Subscription(ref, "deepseek")
            await store.add_subscription(sub)
            pairs.append((sub, fired("deepseek")))
        items = await store.claim_and_enqueue(pairs, CLOSE)
        assert len({item.idempotency_key for item in items}) == len(refs)
        assert_compact()
        leased = await store.lease("ip-10-0-12-34.ec2.internal-123456", limit=1000)
        assert {item.channel for item in leased} == set(refs)
        assert_compact()
    finally:
        await store.close()


async def test_a_row_keeps_worker_ids_and_errors_with_separators_and_long_errors(
    redis_prefix: str, real_time: RealTime
) -> None:
    store = await open_store(redis_store_url(redis_prefix), time_source=real_time)
    try:
        await store.upsert_channel(Channel(ALPHA))
        sub = Subscription(ALPHA, "deepseek")
        await store.add_subscription(sub)
        [item] = await store.claim_and_enqueue([(sub, fired("deepseek"))], CLOSE)
        assert "~" in item.id and item.idempotency_key == idempotency_key(PRINT, ALPHA)
        [leased] = await store.lease("host|42", lease_seconds=60)
        assert await store.renew(leased, "host|42")
        assert not await store.renew(leased, "host/42|x")
        error = "HTTP 500 | upstream said: " + "x" * 300
        failed = await store.mark_failed(leased, error, retry_in=5)
        assert (failed.attempts, failed.last_error, failed.state) == (1, error, "pending")
        assert failed.due_at == real_time.now + 5
        real_time.advance(5)
        [again] = await store.lease("w2")
        assert (again.id, again.attempts, again.last_error) == (item.id, 1, error)
        await store.mark_delivered(again)
        assert await store.list_outbox() == []
    finally:
        await store.close()
