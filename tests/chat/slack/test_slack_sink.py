"""The Slack sink against the fake Web API: metadata, pacing, 429, gone channels, dedupe."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)

from bot.chat.pacing import KeyedPacer
from bot.chat.slack.attempts import StoredAttempts
from bot.chat.slack.config import SlackConfig
from bot.chat.slack.sink import METADATA_EVENT, SlackSink, static_token
from bot.domain.cards import Card, Severity
from bot.domain.model import Channel, ChannelRef
from bot.ports import Delivered, Failed, Gone, RetryAfter
from bot.stores import open_store
from tests.chat.slack.conftest import TEAM, TOKEN
from tests.chat.slack.test_pacing import VirtualClock
from tests.fakes.slack_fake import SlackFake

ALERT = Card(title="Chip crash: SOX −9.15 %", severity=Severity.CRITICAL, text="NVDA −16.97 %")


def channel(channel_id: str, language: str = "en") -> Channel:
    return Channel(ChannelRef("slack", TEAM, channel_id), language=language)  # type: ignore[arg-type]


async def deliver(sink: SlackSink, target: Channel, card: Card, key: str, **kw: bool) -> object:
    await sink.pace(target)
    return await sink.send(target, card, key, **kw)


async def test_an_alert_is_posted_with_its_idempotency_key_in_message_metadata(
    slack: SlackFake, config: SlackConfig
) -> None:
    sink = SlackSink(config, static_token(TOKEN))
    outcome = await deliver(sink, channel("C1"), ALERT, "key-1")
    assert isinstance(outcome, Delivered)
    [post] = slack.posts("C1")
    assert post["metadata"] == {"event_type": METADATA_EVENT, "event_payload": {"key": "key-1"}}
    assert post["blocks"][0]["type"] == "header"
    assert "SOX" in post["text"]
    assert outcome.message_id == post["ts"]


async def test_the_client_keeps_the_429_retry_handler_as_a_net_beside_the_connection_one(
    config: SlackConfig,
) -> None:
    sink = SlackSink(config, static_token(TOKEN))
    client = sink.client_for(TOKEN)
    await sink.close()
    kinds = {type(handler) for handler in client.retry_handlers}
    assert any(issubclass(kind, AsyncConnectionErrorRetryHandler) for kind in kinds)
    assert any(issubclass(kind, AsyncRateLimitErrorRetryHandler) for kind in kinds)


@pytest.mark.slow
async def test_a_short_retry_after_is_waited_out_by_slack_sdks_handler_as_the_net(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.rate_interval = 1.0  # Retry-After: 1 (slack_sdk adds up to 1 s of jitter)
    unpaced = dataclasses.replace(config, channel_interval=0.0, rate_limit_retries=2)
    sink = SlackSink(unpaced, static_token(TOKEN))
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "k1"), Delivered)
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "k2"), Delivered)
    assert slack.rate_limited == 1
    assert len(slack.posts("C1")) == 2
    await sink.close()


async def test_a_long_retry_after_is_not_slept_through_inside_the_send(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.rate_interval = 30.0  # Retry-After: 30 > rate_limit_max_wait
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    netted = dataclasses.replace(config, rate_limit_retries=3)
    sink = SlackSink(netted, static_token(TOKEN), pacer=pacer)
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "k1"), Delivered)
    outcome = await deliver(sink, channel("C1"), ALERT, "k2")
    assert isinstance(outcome, RetryAfter)
    assert slack.rate_limited == 1  # no retry: the worker reschedules it instead
    await sink.close()


async def test_a_429_becomes_retry_after_with_slacks_seconds_and_defers_the_channel(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.rate_interval = 30.0
    clock = VirtualClock()
    pacer = KeyedPacer(1.0, clock=clock, sleep=clock.sleep)
    sink = SlackSink(config, static_token(TOKEN), pacer=pacer)
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "k1"), Delivered)
    outcome = await sink.send(channel("C1"), ALERT, "k2")  # not paced: straight into the 429
    assert isinstance(outcome, RetryAfter)
    assert 29 <= outcome.seconds <= 30
    assert slack.rate_limited == 1
    assert len(slack.posts("C1")) == 1
    slack.rate_interval = 0.0
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "k2"), Delivered)
    assert clock.now >= 29  # the channel waited out Retry-After (on the virtual clock)
    assert slack.called("conversations.history") == []  # a 429 surely posted nothing


async def test_channel_not_found_is_gone_for_that_channel_while_the_others_receive(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.channel_errors["CDEAD"] = "channel_not_found"
    slack.channel_errors["CARCH"] = "is_archived"
    sink = SlackSink(config, static_token(TOKEN))
    targets = [channel(c) for c in ("C1", "CDEAD", "C2", "CARCH", "C3")]
    outcomes = await asyncio.gather(*(deliver(sink, t, ALERT, f"k-{t.ref.key}") for t in targets))
    assert outcomes[1] == Gone("slack: channel_not_found")
    assert outcomes[3] == Gone("slack: is_archived")
    assert all(isinstance(outcomes[i], Delivered) for i in (0, 2, 4))
    assert [len(slack.posts(c)) for c in ("C1", "C2", "C3")] == [1, 1, 1]


async def test_not_in_channel_is_gone_and_other_errors_are_failures(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.channel_errors["CPRIV"] = "not_in_channel"
    slack.channel_errors["CODD"] = "msg_too_long"
    sink = SlackSink(config, static_token(TOKEN))
    assert await deliver(sink, channel("CPRIV"), ALERT, "a") == Gone("slack: not_in_channel")
    assert await deliver(sink, channel("CODD"), ALERT, "b") == Failed("slack: msg_too_long")


async def test_a_workspace_without_an_installation_is_gone(config: SlackConfig) -> None:
    async def no_token(team_id: str) -> str | None:
        return None

    sink = SlackSink(config, no_token)
    outcome = await deliver(sink, channel("C1"), ALERT, "k")
    assert isinstance(outcome, Gone)


async def test_a_timeout_is_an_unknown_outcome_and_the_resend_finds_the_first_post(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.hold_posts = 1  # Slack accepts the post but the answer never comes
    sink = SlackSink(dataclasses.replace(config, timeout=0.5), static_token(TOKEN))
    first = await deliver(sink, channel("C1"), ALERT, "key-timeout")
    assert isinstance(first, Failed) and first.unknown_outcome
    again = await deliver(sink, channel("C1"), ALERT, "key-timeout")
    assert isinstance(again, Delivered)
    assert len(slack.posts("C1")) == 1
    assert again.message_id == slack.posts("C1")[0]["ts"]
    [history] = slack.called("conversations.history")
    assert history["include_all_metadata"] in ("1", "true", True)


async def test_after_a_worker_died_mid_send_the_next_process_posts_nothing(
    slack: SlackFake, config: SlackConfig, tmp_path: Path
) -> None:
    shared = f"sqlite:///{tmp_path / 'sputnik.db'}"  # the store both processes open
    slack.hold_posts = 1
    dying_store, fresh_store = await open_store(shared), await open_store(shared)
    dying = SlackSink(
        config, static_token(TOKEN), attempts=StoredAttempts(dying_store.keyvalue("slack"))
    )
    task = asyncio.create_task(deliver(dying, channel("C1"), ALERT, "key-died"))
    await asyncio.wait_for(slack.post_arrived.wait(), 5)
    task.cancel()  # the worker process dies with the post accepted but unanswered
    fresh = SlackSink(
        config, static_token(TOKEN), attempts=StoredAttempts(fresh_store.keyvalue("slack"))
    )
    outcome = await deliver(fresh, channel("C1"), ALERT, "key-died")
    assert isinstance(outcome, Delivered)
    assert outcome.message_id == slack.posts("C1")[0]["ts"]
    assert len(slack.posts("C1")) == 1
    await dying.close()
    await fresh.close()
    await dying_store.close()
    await fresh_store.close()


async def test_a_resend_flagged_by_the_worker_is_checked_even_without_a_shared_log(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.hold_posts = 1
    dying = SlackSink(config, static_token(TOKEN))
    task = asyncio.create_task(deliver(dying, channel("C1"), ALERT, "key-died"))
    await asyncio.wait_for(slack.post_arrived.wait(), 5)
    task.cancel()
    fresh = SlackSink(config, static_token(TOKEN))  # another process, its own memory
    outcome = await deliver(fresh, channel("C1"), ALERT, "key-died", resend=True)
    assert isinstance(outcome, Delivered)
    assert len(slack.posts("C1")) == 1


async def test_a_resend_that_was_never_posted_is_posted_once(
    slack: SlackFake, config: SlackConfig
) -> None:
    sink = SlackSink(config, static_token(TOKEN))
    await deliver(sink, channel("C1"), ALERT, "other-key")
    outcome = await deliver(sink, channel("C1"), ALERT, "fresh-key", resend=True)
    assert isinstance(outcome, Delivered)
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts("C1")]
    assert keys == ["other-key", "fresh-key"]


async def test_the_dedupe_check_waits_when_the_workspaces_history_budget_is_spent(
    slack: SlackFake, config: SlackConfig
) -> None:
    sink = SlackSink(dataclasses.replace(config, history_budget_per_minute=1), static_token(TOKEN))
    assert isinstance(await deliver(sink, channel("C1"), ALERT, "a", resend=True), Delivered)
    outcome = await deliver(sink, channel("C2"), ALERT, "b", resend=True)
    assert isinstance(outcome, RetryAfter) and outcome.seconds > 0
    assert slack.posts("C2") == []


async def test_an_alerts_chart_follows_as_a_thread_reply(
    slack: SlackFake, config: SlackConfig
) -> None:
    card = dataclasses.replace(ALERT, chart_png=b"\x89PNG fake", chart_name="sox.png")
    sink = SlackSink(config, static_token(TOKEN))
    assert isinstance(await deliver(sink, channel("C1"), card, "k"), Delivered)
    [upload] = slack.uploads
    assert upload["channel"] == "C1"
    assert upload["thread_ts"] == slack.posts("C1")[0]["ts"]


async def test_without_the_bot_in_the_channel_the_chart_becomes_an_invite_hint(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.not_member.add("C1")
    card = dataclasses.replace(ALERT, chart_png=b"\x89PNG fake")
    sink = SlackSink(config, static_token(TOKEN))
    assert isinstance(await deliver(sink, channel("C1", "ko"), card, "k"), Delivered)
    alert, hint = slack.posts("C1")
    assert hint["thread_ts"] == alert["ts"]
    assert "/invite @Sputnik" in hint["text"]
    assert slack.uploads == []
