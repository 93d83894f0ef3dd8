"""The Store contract: every test runs against SQLite and against a real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.model import (
    AlertEvent,
    Channel,
    ChannelRef,
    Snooze,
    Subscription,
    TriggerPolicy,
    idempotency_key,
)
from bot.stores import Store, StoreError, open_store
from tests.stores.conftest import RealTime

DAY1 = date(2025, 1, 27)
DAY2 = date(2025, 1, 28)
T0 = datetime(2025, 1, 27, 15, 0, tzinfo=UTC)
ALPHA = ChannelRef("discord", "guild1", "alpha")
BETA = ChannelRef("slack", "T01", "beta")


def event(
    session: date = DAY1, rank: int = 1, at: datetime = T0, rule_id: str = "deepseek"
) -> AlertEvent:
    """A DeepSeek-style firing."""
    names = {1: "warning", 2: "shock", 3: "crash"}
    return AlertEvent(rule_id, session, rank, names[rank], at, {"SOX": -9.15, "NVDA": -16.97})


async def subscribe(store: Store, ref: ChannelRef = ALPHA, policy: str = "session") -> Subscription:
    """A channel subscribed to the `deepseek` preset."""
    await store.upsert_channel(Channel(ref, language="ko", timezone="Asia/Seoul"))
    sub = Subscription(ref, "deepseek", policy=TriggerPolicy.parse(policy))
    await store.add_subscription(sub)
    return sub


async def fires(
    store: Store, sub: Subscription, ev: AlertEvent, now: datetime | None = None
) -> bool:
    """Whether this firing claims an outbox item for the subscription's channel."""
    return len(await store.claim_and_enqueue([(sub, ev)], now or ev.fired_at)) == 1


async def test_channel_round_trips_with_language_timezone_and_activity(store: Store) -> None:
    await store.upsert_channel(Channel(ALPHA, language="ko", timezone="Asia/Seoul"))
    assert await store.get_channel(ALPHA) == Channel(ALPHA, "ko", "Asia/Seoul", True, None)
    await store.set_language(ALPHA, "en")
    await store.deactivate(ALPHA, "bot removed from guild")
    assert await store.get_channel(ALPHA) == Channel(
        ALPHA, "en", "Asia/Seoul", False, "bot removed from guild"
    )
    assert await store.get_channel(BETA) is None


async def test_changing_an_unknown_channel_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.set_language(BETA, "ko")
    with pytest.raises(StoreError):
        await store.deactivate(BETA, "gone")
    with pytest.raises(StoreError):
        await store.add_subscription(Subscription(BETA, "deepseek"))


async def test_subscriptions_are_listed_per_channel_and_removed(store: Store) -> None:
    await store.upsert_channel(Channel(ALPHA))
    custom = Subscription(
        ALPHA,
        "my-nvda",
        expression="NVDA < -10% and SPX > -2%",
        policy=TriggerPolicy.parse("cooldown=2h"),
        expires=date(2025, 3, 1),
    )
    digest = Subscription(
        ALPHA, "daily", kind="digest", digest_time="08:30", digest_zone="Asia/Seoul"
    )
    preset = Subscription(ALPHA, "deepseek")
    for sub in (custom, digest, preset):
        await store.add_subscription(sub)
    assert await store.list_subscriptions(ALPHA) == [preset, custom, digest]
    assert await store.remove_subscription(ALPHA, "alert", "my-nvda") is True
    assert await store.remove_subscription(ALPHA, "alert", "my-nvda") is False
    assert await store.list_subscriptions(ALPHA) == [preset, digest]
    assert await store.recipients("daily", kind="digest", now=T0) == [digest]


async def test_recipients_are_active_unexpired_subscribers_of_the_rule(store: Store) -> None:
    gamma, delta = ChannelRef("discord", "g2", "gamma"), ChannelRef("discord", "g2", "delta")
    alpha = await subscribe(store, ALPHA)
    await subscribe(store, BETA)
    await store.deactivate(BETA, "missing permissions")
    await store.upsert_channel(Channel(gamma))
    await store.add_subscription(Subscription(gamma, "deepseek", expires=date(2025, 1, 26)))
    await store.upsert_channel(Channel(delta))
    last_day = Subscription(delta, "deepseek", expires=DAY1)
    await store.add_subscription(last_day)
    await store.add_subscription(Subscription(delta, "other-rule"))
    assert await store.recipients("deepseek", now=T0) == [last_day, alpha], "by channel key"


async def test_once_per_session_alerts_once_per_channel_per_session(store: Store) -> None:
    sub = await subscribe(store)
    assert await fires(store, sub, event(DAY1))
    assert not await fires(store, sub, event(DAY1, at=T0 + timedelta(minutes=5)))
    assert await fires(store, sub, event(DAY2, at=T0 + timedelta(days=1)))


async def test_higher_severity_tier_in_the_same_session_alerts_once_more(store: Store) -> None:
    sub = await subscribe(store)
    assert await fires(store, sub, event(rank=1))
    assert await fires(store, sub, event(rank=3, at=T0 + timedelta(minutes=1)))
    assert not await fires(store, sub, event(rank=3, at=T0 + timedelta(minutes=2)))
    assert not await fires(store, sub, event(rank=2, at=T0 + timedelta(minutes=3)))


async def test_once_alerts_only_the_first_time_ever(store: Store) -> None:
    sub = await subscribe(store, policy="once")
    assert await fires(store, sub, event(DAY1))
    await store.observe_false("deepseek", [ALPHA], T0 + timedelta(hours=1))
    assert not await fires(store, sub, event(DAY2, at=T0 + timedelta(days=1)))


async def test_cooldown_rearms_only_after_the_condition_was_false_and_the_time_passed(
    store: Store,
) -> None:
    sub = await subscribe(store, policy="cooldown=30m")
    assert await fires(store, sub, event(at=T0))
    assert not await fires(store, sub, event(at=T0 + timedelta(hours=2))), "still true: no re-arm"
    await store.observe_false("deepseek", [ALPHA], T0 + timedelta(hours=2, minutes=1))
    assert await fires(store, sub, event(at=T0 + timedelta(hours=2, minutes=5)))
    await store.observe_false("deepseek", [ALPHA], T0 + timedelta(hours=2, minutes=6))
    assert not await fires(store, sub, event(at=T0 + timedelta(hours=2, minutes=20))), "flapping"
    assert await fires(store, sub, event(at=T0 + timedelta(hours=2, minutes=36)))


async def test_expired_subscriptions_and_inactive_channels_claim_nothing(store: Store) -> None:
    sub = await subscribe(store)
    expired = Subscription(ALPHA, "deepseek", expires=DAY1 - timedelta(days=1))
    assert await store.claim_and_enqueue([(expired, event())], T0) == []
    await store.deactivate(ALPHA, "kicked")
    assert await store.claim_and_enqueue([(sub, event())], T0) == []
    assert await store.list_outbox() == []


async def test_claim_persists_the_alert_and_outbox_item_for_every_recipient(store: Store) -> None:
    await subscribe(store, ALPHA)
    await subscribe(store, BETA)
    ev = event()
    recipients = await store.recipients("deepseek", now=T0)
    items = await store.claim_and_enqueue([(s, ev) for s in recipients], T0)
    assert {i.channel for i in items} == {ALPHA, BETA}
    listed = await store.list_outbox()
    assert [(i.id, i.idempotency_key) for i in listed] == [(i.id, i.idempotency_key) for i in items]
    assert all(i.alert_ids == (ev.alert_id,) and i.state == "pending" for i in listed)
    assert all(i.kind == "alert" and i.rule_id == "deepseek" for i in listed)
    assert await store.alert_events([ev.alert_id]) == [ev]
    assert await store.alert_history(ALPHA) == [ev]


async def test_idempotency_key_is_per_alert_and_channel_and_fits_a_discord_nonce() -> None:
    key = idempotency_key(event().alert_id, ALPHA)
    assert key == idempotency_key(event().alert_id, ALPHA)
    assert key != idempotency_key(event().alert_id, BETA)
    assert key != idempotency_key(event(rank=2).alert_id, ALPHA)
    assert len(key) <= 25


async def test_a_leased_item_is_not_leased_again_until_delivered_or_its_lease_runs_out(
    store: Store, real_time: RealTime
) -> None:
    sub = await subscribe(store)
    [item] = await store.claim_and_enqueue([(sub, event())], T0)
    [leased] = await store.lease("worker-a", limit=10, lease_seconds=0.3)
    assert leased.id == item.id and leased.idempotency_key == item.idempotency_key
    assert leased.alert_ids == item.alert_ids and leased.channel == ALPHA
    assert await store.lease("worker-b", limit=10, lease_seconds=0.3) == []
    real_time.advance(0.5)
    [taken_over] = await store.lease("worker-b", limit=10, lease_seconds=0.3)
    assert taken_over.id == item.id
    await store.mark_delivered(taken_over)
    assert await store.list_outbox() == []
    real_time.advance(0.1)
    assert await store.lease("worker-c", limit=10, lease_seconds=0.0) == []


async def test_a_failing_item_is_retried_then_parked_with_its_last_error(
    store: Store, real_time: RealTime
) -> None:
    sub = await subscribe(store)
    await store.claim_and_enqueue([(sub, event())], T0)
    for attempt in (1, 2):
        [item] = await store.lease("worker", lease_seconds=60)
        failed = await store.mark_failed(item, f"HTTP 503 #{attempt}", max_attempts=3)
        assert (failed.state, failed.attempts) == ("pending", attempt)
        real_time.advance(900)
    [item] = await store.lease("worker", lease_seconds=60)
    assert (item.attempts, item.last_error) == (2, "HTTP 503 #2")
    parked = await store.mark_failed(item, "HTTP 403 Missing Access", max_attempts=3)
    assert (parked.state, parked.attempts) == ("parked", 3)
    real_time.advance(900)
    assert await store.lease("worker", lease_seconds=60) == []
    [shown] = await store.list_outbox()
    assert (shown.state, shown.attempts, shown.last_error) == (
        "parked",
        3,
        "HTTP 403 Missing Access",
    )
    assert shown.channel == ALPHA and shown.alert_ids == item.alert_ids


async def test_alert_history_lists_a_channels_alerts_newest_first(store: Store) -> None:
    sub = await subscribe(store)
    first, second = event(rank=1), event(rank=2, at=T0 + timedelta(minutes=9))
    await store.claim_and_enqueue([(sub, first)], T0)
    await store.claim_and_enqueue([(sub, second)], T0 + timedelta(minutes=9))
    assert await store.alert_history(ALPHA) == [second, first]
    assert await store.alert_history(ALPHA, limit=1) == [second]
    assert await store.alert_history(BETA) == []


async def test_everything_survives_closing_and_reopening_the_store(store_url: str) -> None:
    first = await open_store(store_url)
    sub = await subscribe(first)
    await first.claim_and_enqueue([(sub, event())], T0)
    await first.close()
    again = await open_store(store_url)
    try:
        assert await again.list_subscriptions(ALPHA) == [sub]
        assert len(await again.list_outbox()) == 1
        assert not await fires(again, sub, event(at=T0 + timedelta(minutes=1)))
    finally:
        await again.close()


async def test_resaving_a_channel_keeps_its_subscriptions_and_trigger_state(store: Store) -> None:
    sub = await subscribe(store, policy="once")
    digest = Subscription(ALPHA, "daily", kind="digest", digest_time="08:30")
    await store.add_subscription(digest)
    assert await fires(store, sub, event())
    await store.deactivate(ALPHA, "kicked")
    await store.upsert_channel(Channel(ALPHA, language="en", timezone="America/New_York"))
    assert await store.get_channel(ALPHA) == Channel(ALPHA, "en", "America/New_York", True, None)
    assert await store.list_subscriptions(ALPHA) == [sub, digest]
    assert await store.recipients("deepseek", now=T0) == [sub]
    assert not await fires(store, sub, event(DAY2, at=T0 + timedelta(days=1))), "still `once`"


async def test_unsubscribing_forgets_the_trigger_state_so_a_fresh_once_fires_again(
    store: Store,
) -> None:
    sub = await subscribe(store, policy="once")
    assert await fires(store, sub, event())
    assert await store.remove_subscription(ALPHA, "alert", "deepseek")
    again = Subscription(ALPHA, "deepseek", policy=TriggerPolicy.parse("once"))
    await store.add_subscription(again)
    assert await fires(store, again, event(DAY2, at=T0 + timedelta(days=1)))
    assert not await fires(store, again, event(DAY2, at=T0 + timedelta(days=1, minutes=1)))


async def test_replacing_a_subscription_with_another_policy_starts_afresh(store: Store) -> None:
    sub = await subscribe(store, policy="once")
    assert await fires(store, sub, event())
    same = Subscription(ALPHA, "deepseek", policy=TriggerPolicy.parse("once"), expires=DAY2)
    await store.add_subscription(same)
    assert not await fires(store, same, event(at=T0 + timedelta(minutes=1))), "same policy: kept"
    cooldown = Subscription(ALPHA, "deepseek", policy=TriggerPolicy.parse("cooldown=30m"))
    await store.add_subscription(cooldown)
    assert await fires(store, cooldown, event(at=T0 + timedelta(minutes=2)))
    # A digest of the same name is another subscription: removing it keeps the alert's state.
    await store.add_subscription(Subscription(ALPHA, "deepseek", kind="digest", digest_time="8:00"))
    assert await store.remove_subscription(ALPHA, "digest", "deepseek")
    assert not await fires(store, cooldown, event(at=T0 + timedelta(hours=1)))


async def test_a_lease_is_renewed_only_by_the_worker_that_still_holds_it(
    store: Store, real_time: RealTime
) -> None:
    sub = await subscribe(store)
    await store.claim_and_enqueue([(sub, event())], T0)
    [held] = await store.lease("worker-a", lease_seconds=0.3)
    assert await store.renew(held, "worker-a")
    assert not await store.renew(held, "worker-b")
    real_time.advance(0.2)
    assert await store.renew(held, "worker-a"), "renewed before it ran out"
    real_time.advance(0.2)
    assert await store.lease("worker-b", lease_seconds=0.3) == [], "the renewal restarted it"
    real_time.advance(0.2)
    [taken_over] = await store.lease("worker-b", lease_seconds=0.3)
    assert not await store.renew(held, "worker-a"), "taken over: worker-a must not send it"
    assert await store.renew(taken_over, "worker-b")
    await store.mark_delivered(taken_over)
    assert not await store.renew(taken_over, "worker-b")


async def test_an_item_whose_workers_keep_dying_is_parked_not_retried_forever(
    store: Store, real_time: RealTime
) -> None:
    sub = await subscribe(store)
    [item] = await store.claim_and_enqueue([(sub, event())], T0)
    for _ in range(3):  # each worker leases it and dies without recording anything
        assert [i.id for i in await store.lease("doomed", lease_seconds=0.01, max_attempts=3)] == [
            item.id
        ]
        real_time.advance(0.05)
    assert await store.lease("next", lease_seconds=0.01, max_attempts=3) == []
    [parked] = await store.list_outbox()
    assert (parked.id, parked.state, parked.attempts) == (item.id, "parked", 3)
    assert parked.last_error == "worker died 3 times while delivering"
    real_time.advance(0.05)
    assert await store.lease("next", lease_seconds=0.01, max_attempts=3) == []


async def test_recorded_failures_and_worker_deaths_share_the_attempt_budget(
    store: Store, real_time: RealTime
) -> None:
    sub = await subscribe(store)
    await store.claim_and_enqueue([(sub, event())], T0)
    [item] = await store.lease("w", lease_seconds=0.01, max_attempts=3)
    assert (await store.mark_failed(item, "HTTP 503", max_attempts=3)).state == "pending"
    real_time.advance(30)
    for _ in range(2):
        real_time.advance(0.05)
        [again] = await store.lease("w", lease_seconds=0.01, max_attempts=3)
        assert (again.attempts, again.last_error) == (1, "HTTP 503")
    real_time.advance(0.05)
    assert await store.lease("w", lease_seconds=0.01, max_attempts=3) == []
    [parked] = await store.list_outbox()
    assert (parked.state, parked.attempts) == ("parked", 3)
    assert parked.last_error == "worker died 2 times while delivering (last error: HTTP 503)"


async def test_a_channel_follows_its_languages_zone_until_it_chooses_one(store: Store) -> None:
    await store.upsert_channel(Channel(ALPHA, language="en"))
    assert (await store.get_channel(ALPHA)).zone_name == "UTC"  # type: ignore[union-attr]
    await store.set_language(ALPHA, "ko")
    assert (await store.get_channel(ALPHA)).zone_name == "Asia/Seoul"  # type: ignore[union-attr]
    await store.set_timezone(ALPHA, "America/New_York")
    chosen = await store.get_channel(ALPHA)
    assert chosen is not None and chosen.timezone == chosen.zone_name == "America/New_York"
    await store.set_timezone(ALPHA, None)
    assert (await store.get_channel(ALPHA)).timezone is None  # type: ignore[union-attr]
    with pytest.raises(StoreError):
        await store.set_timezone(BETA, "Asia/Seoul")


# --- channel controls (issue 23): mute, saved rules, snooze, watch list, requests ----------


async def test_a_muted_subscription_is_kept_but_alerts_nobody_until_unmuted(store: Store) -> None:
    sub = await subscribe(store)
    custom = Subscription(ALPHA, "custom:NVDA.pct <= -8", expression="NVDA.pct <= -8")
    await store.add_subscription(custom)
    assert await store.set_muted(ALPHA, "alert", "deepseek", True)
    assert await store.set_muted(ALPHA, "alert", custom.rule_id, True)
    assert not await store.set_muted(ALPHA, "alert", "chip_crash", True), "no such subscription"
    listed = {s.rule_id: s.muted for s in await store.list_subscriptions(ALPHA)}
    assert listed == {"deepseek": True, custom.rule_id: True}
    assert await store.recipients("deepseek", now=T0) == []
    assert await store.custom_rules(T0) == []
    assert await store.set_muted(ALPHA, "alert", "deepseek", False)
    assert [s.channel for s in await store.recipients("deepseek", now=T0)] == [ALPHA]
    assert await fires(store, sub, event())


async def test_muting_keeps_the_trigger_state_so_a_once_does_not_fire_again(store: Store) -> None:
    sub = await subscribe(store, policy="once")
    assert await fires(store, sub, event())
    await store.set_muted(ALPHA, "alert", "deepseek", True)
    await store.set_muted(ALPHA, "alert", "deepseek", False)
    [unmuted] = await store.recipients("deepseek", now=T0)
    assert not await fires(store, unmuted, event(DAY2, at=T0 + timedelta(days=1)))


async def test_a_saved_rule_outlives_its_subscription_and_goes_with_its_channel(
    store: Store,
) -> None:
    with pytest.raises(StoreError):
        await store.save_rule(ALPHA, "mine", "NVDA.pct <= -10")
    await store.upsert_channel(Channel(ALPHA))
    await store.save_rule(ALPHA, "mine", "NVDA.pct <= -10")
    await store.save_rule(ALPHA, "amd", "AMD.pct <= -8")
    await store.add_subscription(Subscription(ALPHA, "mine", expression="NVDA.pct <= -10"))
    assert await store.remove_subscription(ALPHA, "alert", "mine")
    assert await store.saved_rules(ALPHA) == {"amd": "AMD.pct <= -8", "mine": "NVDA.pct <= -10"}
    await store.save_rule(ALPHA, "mine", "NVDA.pct <= -12")
    assert (await store.saved_rules(ALPHA))["mine"] == "NVDA.pct <= -12"
    assert await store.delete_rule(ALPHA, "amd")
    assert not await store.delete_rule(ALPHA, "amd")
    assert await store.saved_rules(BETA) == {}
    await store.purge_channel(ALPHA)
    await store.upsert_channel(Channel(ALPHA))
    assert await store.saved_rules(ALPHA) == {}


async def test_a_snooze_holds_alert_ids_and_ending_it_returns_them_once(store: Store) -> None:
    until = T0 + timedelta(hours=2)
    with pytest.raises(StoreError):
        await store.set_snooze(BETA, Snooze(until))
    await store.upsert_channel(Channel(ALPHA, language="ko"))
    await store.set_snooze(ALPHA, Snooze(until, drop=False))
    channel = await store.get_channel(ALPHA)
    assert channel is not None and channel.snooze == Snooze(until, False)
    assert channel.snoozed(T0) and not channel.snoozed(until)
    await store.hold_alerts(ALPHA, ["a1", "a2"])
    await store.hold_alerts(ALPHA, ["a2", "a3"])
    assert await store.ended_snoozes(until - timedelta(seconds=1)) == []
    assert await store.ended_snoozes(until) == [ALPHA]
    assert await store.end_snooze(ALPHA) == (Snooze(until, False), ["a1", "a2", "a3"])
    assert await store.end_snooze(ALPHA) == (None, []), "released once"
    assert await store.ended_snoozes(until + timedelta(days=1)) == []
    after = await store.get_channel(ALPHA)
    assert after is not None and after.snooze is None and after.language == "ko"


async def test_a_new_snooze_replaces_the_old_one_and_keeps_what_it_held(store: Store) -> None:
    await store.upsert_channel(Channel(ALPHA))
    await store.set_snooze(ALPHA, Snooze(T0 + timedelta(hours=1)))
    await store.hold_alerts(ALPHA, ["a1"])
    await store.set_snooze(ALPHA, Snooze(T0 + timedelta(hours=5), drop=True))
    assert await store.ended_snoozes(T0 + timedelta(hours=2)) == []
    await store.set_snooze(ALPHA, None)
    assert await store.ended_snoozes(T0 + timedelta(days=9)) == []
    assert await store.end_snooze(ALPHA) == (None, ["a1"])


async def test_snooze_and_watch_list_round_trip_through_a_resaved_channel(store: Store) -> None:
    snooze = Snooze(datetime(2025, 1, 28, 0, 30, 15, 500000, tzinfo=UTC), drop=True)
    full = Channel(ALPHA, "ko", None, True, None, "@here", snooze, ("NVDA", "000660.KS"))
    await store.upsert_channel(full)
    assert await store.get_channel(ALPHA) == full
    assert await store.ended_snoozes(snooze.until) == [ALPHA]
    await store.upsert_channel(Channel(ALPHA, "ko"))
    assert await store.get_channel(ALPHA) == Channel(ALPHA, "ko")
    assert await store.ended_snoozes(snooze.until) == []
    await store.set_watchlist(ALPHA, ())
    after = await store.get_channel(ALPHA)
    assert after is not None and after.watchlist == (), "an emptied list is not the default"
    await store.set_watchlist(ALPHA, None)
    after = await store.get_channel(ALPHA)
    assert after is not None and after.watchlist is None
    with pytest.raises(StoreError):
        await store.set_watchlist(BETA, ["NVDA"])


async def test_an_on_demand_request_is_refused_within_its_interval_per_channel(
    store: Store,
) -> None:
    for ref in (ALPHA, BETA):
        await store.upsert_channel(Channel(ref))
    assert await store.claim_request(ALPHA, "digest_now", T0, 600) is None
    later = T0 + timedelta(minutes=9, seconds=59)
    assert await store.claim_request(ALPHA, "digest_now", later, 600) == T0
    assert await store.claim_request(BETA, "digest_now", later, 600) is None, "per channel"
    assert await store.claim_request(ALPHA, "other", later, 600) is None, "per request"
    ten = T0 + timedelta(minutes=10)
    assert await store.claim_request(ALPHA, "digest_now", ten, 600) is None
    with pytest.raises(StoreError):
        await store.claim_request(ChannelRef("x", "y", "z"), "digest_now", T0, 600)
