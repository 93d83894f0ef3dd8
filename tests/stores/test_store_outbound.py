"""The Store contract's outbound path (issue 7), on SQLite and on a real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.model import (
    AlertEvent,
    Channel,
    ChannelRef,
    Subscription,
    TriggerPolicy,
    chart_key,
    idempotency_key,
    print_id,
)
from bot.stores import Store
from tests.stores.conftest import RealTime

CLOSE = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
OPEN = datetime(2025, 1, 27, 14, 30, tzinfo=UTC)
NEXT_OPEN = datetime(2025, 1, 28, 14, 30, tzinfo=UTC)
ALPHA = ChannelRef("discord", "guild1", "alpha")
GAMMA = ChannelRef("discord", "guild1", "gamma")
OTHER_GUILD = ChannelRef("discord", "guild2", "delta")
BETA = ChannelRef("slack", "T01", "beta")
RULES = ("deepseek", "nvda_decoupling", "ai_power_unwind", "chip_crash")


def fired(
    rule_id: str, at: datetime = CLOSE, kind: str = "close", rank: int = 3, expires=NEXT_OPEN
) -> AlertEvent:
    return AlertEvent(
        rule_id,
        date(2025, 1, 27),
        rank,
        "critical",
        at,
        {"SOX": -9.15, "DJI": {"proxy": "DIA", "change": 0.68}},
        print_id=print_id(at, kind),
        print_kind=kind,  # type: ignore[arg-type]
        expires_at=expires,
    )


async def channel(store: Store, ref: ChannelRef, *rules: str) -> list[Subscription]:
    await store.upsert_channel(Channel(ref, language="ko", timezone="Asia/Seoul"))
    subs = [Subscription(ref, rule) for rule in rules]
    for sub in subs:
        await store.add_subscription(sub)
    return subs


async def test_alerts_of_one_print_for_one_channel_are_one_message_with_one_key(
    store: Store, real_time: RealTime
) -> None:
    refs = [ALPHA, GAMMA, BETA]
    subs = {ref: await channel(store, ref, *RULES) for ref in refs}
    events = [fired(rule) for rule in RULES]
    pairs = [(sub, ev) for ref in refs for sub, ev in zip(subs[ref], events, strict=True)]
    items = await store.claim_and_enqueue(pairs, CLOSE)
    assert [i.channel for i in items] == refs, "one message per channel, in claim order"
    ids = tuple(ev.alert_id for ev in events)
    the_print = print_id(CLOSE, "close")
    for item in items:
        assert (item.kind, item.alert_ids, item.print_id) == ("alert", ids, the_print)
        assert item.idempotency_key == idempotency_key(the_print, item.channel)
        assert item.rule_id == "deepseek" and item.alert_id == ids[0]
        assert (item.created_at, item.due_at, item.expires_at) == (
            real_time.now,
            real_time.now,
            NEXT_OPEN,
        )
    assert await store.alert_events([*reversed(ids), "unknown"]) == events[::-1]
    assert await store.list_outbox() == items


async def test_a_claim_for_an_unknown_channel_queues_nothing(store: Store) -> None:
    assert (
        await store.claim_and_enqueue([(Subscription(ALPHA, "deepseek"), fired("deepseek"))], CLOSE)
        == []
    )
    assert await store.get_channel(ALPHA) is None and await store.list_outbox() == []


async def test_a_later_claim_for_the_same_print_joins_the_pending_message(store: Store) -> None:
    subs = await channel(store, ALPHA, *RULES)
    early = fired("deepseek", expires=NEXT_OPEN + timedelta(hours=1))
    [first] = await store.claim_and_enqueue([(subs[0], early)], CLOSE)
    [joined] = await store.claim_and_enqueue([(subs[3], fired("chip_crash"))], CLOSE)
    assert joined.id == first.id and joined.idempotency_key == first.idempotency_key
    assert joined.alert_ids == (early.alert_id, fired("chip_crash").alert_id)
    assert joined.expires_at == NEXT_OPEN, "the group expires with its earliest alert"
    assert await store.claim_and_enqueue([(subs[3], fired("chip_crash"))], CLOSE) == []
    [listed] = await store.list_outbox()
    assert listed.alert_ids == joined.alert_ids


async def test_alerts_claimed_after_the_message_went_out_get_a_message_of_their_own(
    store: Store,
) -> None:
    subs = await channel(store, ALPHA, *RULES)
    [first] = await store.claim_and_enqueue([(subs[0], fired("deepseek"))], CLOSE)
    [leased] = await store.lease("w")
    [late] = await store.claim_and_enqueue([(subs[1], fired("nvda_decoupling"))], CLOSE)
    assert late.id != first.id and late.idempotency_key != first.idempotency_key
    assert late.alert_ids == (fired("nvda_decoupling").alert_id,)
    await store.mark_delivered(leased)
    [later] = await store.claim_and_enqueue([(subs[2], fired("ai_power_unwind"))], CLOSE)
    assert later.idempotency_key not in (first.idempotency_key, late.idempotency_key)


async def test_prints_differ_so_the_open_and_the_close_are_two_messages(store: Store) -> None:
    subs = await channel(store, ALPHA, "deepseek", "chip_crash")
    at_open = [(subs[0], fired("deepseek", OPEN, "open", rank=2))]
    at_close = [(subs[1], fired("chip_crash", CLOSE, "close"))]
    [one] = await store.claim_and_enqueue(at_open, OPEN)
    [two] = await store.claim_and_enqueue(at_close, CLOSE)
    assert one.id != two.id and one.print_id != two.print_id


async def test_digests_and_notices_are_queued_once_per_key(
    store: Store, real_time: RealTime
) -> None:
    await channel(store, ALPHA)
    payload = {"date": "2025-01-27", "figures": {"SOX": -9.15}}
    item = await store.enqueue_message(
        "digest", ALPHA, payload, "digest-k1", rule_id="daily", due_at=real_time.now + 60
    )
    assert item is not None
    assert (item.kind, item.payload, item.rule_id, item.alert_ids) == (
        "digest",
        payload,
        "daily",
        (),
    )
    assert await store.enqueue_message("digest", ALPHA, payload, "digest-k1") is None
    assert await store.lease("w") == [], "not due yet"
    real_time.advance(60)
    [leased] = await store.lease("w")
    assert (leased.id, leased.payload) == (item.id, payload)
    await store.mark_delivered(leased)
    assert await store.enqueue_message("notice", ALPHA, {}, "digest-k1") is None, "sent: kept"


async def test_lease_takes_only_due_items_of_the_platforms_asked_for(
    store: Store, real_time: RealTime
) -> None:
    for ref in (ALPHA, BETA):
        await channel(store, ref)
        await store.enqueue_message("notice", ref, {"n": ref.platform}, f"k-{ref.platform}")
    assert await store.lease("w", platforms=[]) == []
    [slack] = await store.lease("w", platforms=["slack"])
    assert slack.channel == BETA
    assert await store.lease("w", platforms=["slack"]) == []
    [discord] = await store.lease("w", platforms={"discord", "telegram"})
    assert discord.channel == ALPHA


async def test_reschedule_releases_the_lease_and_counts_no_attempt(
    store: Store, real_time: RealTime
) -> None:
    await channel(store, ALPHA)
    await store.enqueue_message("notice", ALPHA, {}, "k1")
    for _ in range(5):  # more reschedules than max_attempts: none is a "died" lease
        [item] = await store.lease("w", max_attempts=3)
        await store.reschedule(item, real_time.now + 5, "rate limited")
        assert await store.lease("w", max_attempts=3) == []
        real_time.advance(5)
    [item] = await store.lease("w", max_attempts=3)
    assert (item.attempts, item.state, item.due_at) == (0, "pending", real_time.now)


async def test_mark_failed_releases_the_lease_and_is_due_after_retry_in(
    store: Store, real_time: RealTime
) -> None:
    await channel(store, ALPHA)
    await store.enqueue_message("notice", ALPHA, {}, "k1")
    [item] = await store.lease("w", lease_seconds=600)
    failed = await store.mark_failed(item, "HTTP 503", retry_in=10)
    assert (failed.state, failed.attempts, failed.due_at) == ("pending", 1, real_time.now + 10)
    real_time.advance(10)
    [again] = await store.lease("w2", lease_seconds=600)
    assert again.id == item.id, "no waiting for the 600 s lease to run out"


async def test_park_and_park_channel_stop_delivery_and_keep_the_reason(store: Store) -> None:
    for ref in (ALPHA, GAMMA):
        await channel(store, ref)
    for n in range(3):
        await store.enqueue_message("notice", ALPHA, {"n": n}, f"a{n}")
    await store.enqueue_message("notice", GAMMA, {}, "g0")
    [first, *_] = await store.lease("w", limit=1)
    await store.park(first, "poison card")
    assert await store.park_channel(ALPHA, "Missing Access") == 2
    shown = [(i.channel, i.state, i.last_error) for i in await store.list_outbox()]
    assert shown == [
        (ALPHA, "parked", "poison card"),
        (ALPHA, "parked", "Missing Access"),
        (ALPHA, "parked", "Missing Access"),
        (GAMMA, "pending", None),
    ]
    assert [i.channel for i in await store.lease("w")] == [GAMMA]


async def test_purging_a_channel_forgets_it_and_a_workspace_purges_all_its_channels(
    store: Store,
) -> None:
    subs = {ref: await channel(store, ref, "deepseek") for ref in (ALPHA, GAMMA, OTHER_GUILD)}
    custom = Subscription(ALPHA, "mine", expression="NVDA < -10%")
    await store.add_subscription(custom)
    event = fired("deepseek")
    await store.claim_and_enqueue([(s[0], event) for s in subs.values()], CLOSE)
    await store.purge_channel(ALPHA)
    assert await store.get_channel(ALPHA) is None
    assert await store.list_subscriptions(ALPHA) == [] and await store.alert_history(ALPHA) == []
    assert await store.custom_rules(CLOSE) == []
    assert [i.channel for i in await store.list_outbox()] == [GAMMA, OTHER_GUILD]
    await channel(store, ALPHA, "deepseek")
    assert len(await store.claim_and_enqueue([(subs[ALPHA][0], event)], CLOSE)) == 1, "afresh"
    assert await store.purge_workspace("discord", "guild1") == 2
    assert await store.get_channel(GAMMA) is None and await store.get_channel(OTHER_GUILD)
    assert [i.channel for i in await store.list_outbox()] == [OTHER_GUILD]
    assert await store.recipients("deepseek", now=CLOSE) == subs[OTHER_GUILD]


async def test_a_scheduled_run_is_claimed_once_per_job_and_time_until_it_expires(
    store: Store, real_time: RealTime
) -> None:
    at = datetime(2025, 1, 27, 21, 5, tzinfo=UTC)
    assert await store.claim_run("closing-check", at, ttl_seconds=3600)
    assert not await store.claim_run("closing-check", at, ttl_seconds=3600)
    assert await store.claim_run("closing-check", at + timedelta(minutes=1), ttl_seconds=3600)
    assert await store.claim_run("digest", at, ttl_seconds=3600)


async def test_custom_rules_are_the_expression_subscriptions_of_active_channels(
    store: Store,
) -> None:
    await channel(store, ALPHA, "deepseek")
    await channel(store, GAMMA)
    await channel(store, BETA)
    mine = Subscription(ALPHA, "mine", expression="NVDA < -10%", policy=TriggerPolicy("once"))
    old = Subscription(GAMMA, "old", expression="SOX < -5%", expires=date(2025, 1, 26))
    theirs = Subscription(BETA, "theirs", expression="AVGO < -10%")
    for sub in (mine, old, theirs):
        await store.add_subscription(sub)
    assert await store.custom_rules(CLOSE) == [mine, theirs]
    await store.deactivate(BETA, "app uninstalled")
    assert await store.custom_rules(CLOSE) == [mine]
    await store.add_subscription(Subscription(ALPHA, "mine"))  # now without an expression
    assert await store.custom_rules(CLOSE) == []


async def test_a_channels_mention_is_kept(store: Store) -> None:
    await store.upsert_channel(Channel(ALPHA, mention="<@&42>"))
    assert (await store.get_channel(ALPHA)) == Channel(ALPHA, mention="<@&42>")
    await store.set_mention(ALPHA, "@here")
    await store.deactivate(ALPHA, "kicked")
    found = await store.get_channel(ALPHA)
    assert found is not None and found.mention == "@here"
    await store.set_mention(ALPHA, None)
    found = await store.get_channel(ALPHA)
    assert found is not None and found.mention is None


async def test_digest_slots_are_recorded_once_and_the_last_is_remembered(store: Store) -> None:
    await channel(store, ALPHA)
    digest = Subscription(ALPHA, "daily", kind="digest", digest_time="08:30")
    slot = datetime(2025, 1, 27, 23, 30, tzinfo=UTC)
    assert await store.last_digest(digest) is None
    assert await store.record_digest(digest, slot)
    assert not await store.record_digest(digest, slot), "a restart does not repeat it"
    assert not await store.record_digest(digest, slot - timedelta(days=1))
    assert await store.last_digest(digest) == slot
    assert await store.record_digest(digest, slot + timedelta(days=1))
    assert await store.last_digest(digest) == slot + timedelta(days=1)


async def test_a_chart_is_stored_once_under_its_key(store: Store) -> None:
    key = chart_key(print_id(CLOSE, "close"), "NVDA", "ko")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    assert await store.get_chart(key) is None
    await store.put_chart(key, png)
    await store.put_chart(key, b"another rendering")
    assert await store.get_chart(key) == png


async def test_a_long_alert_history_is_listed_newest_first(store: Store) -> None:
    [sub] = await channel(store, ALPHA, "deepseek")
    events = [
        AlertEvent("deepseek", date(2025, 1, 1) + timedelta(days=n), 1, "warning", OPEN, {})
        for n in range(25)
    ]
    for ev in events:
        assert len(await store.claim_and_enqueue([(sub, ev)], CLOSE + timedelta(days=30))) == 1
    assert await store.alert_history(ALPHA) == events[::-1][:20]
    assert await store.alert_history(ALPHA, limit=3) == events[::-1][:3]
