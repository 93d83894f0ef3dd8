"""Every error Slack really returns, from the fake, through slack_sdk, to the sink's outcome.

Revoked tokens and deactivated workspaces are gone; a missing scope is a failure that
says so; a 5xx or a cut connection is an unknown outcome whose resend finds the first
post; Slack unreachable surely sent nothing; history is read page by page.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.attempts import StoredAttempts
from bot.chat.slack.config import SlackConfig
from bot.chat.slack.sink import METADATA_EVENT, SlackSink, static_token
from bot.domain.cards import Card, CardField, Severity
from bot.domain.model import Channel, ChannelRef
from bot.ports import Delivered, Failed, Gone, RetryAfter
from bot.stores import open_store
from tests.chat.slack.conftest import TEAM, TOKEN
from tests.fakes.slack_fake import SlackFake

ALERT = Card(title="Chip crash: SOX −9.15 %", severity=Severity.CRITICAL, text="NVDA −16.97 %")


def channel(channel_id: str) -> Channel:
    return Channel(ChannelRef("slack", TEAM, channel_id))


async def deliver(sink: SlackSink, target: Channel, key: str, **kw: bool) -> object:
    await sink.pace(target)
    return await sink.send(target, ALERT, key, **kw)


@pytest.mark.parametrize("error", ["token_revoked", "account_inactive"])
async def test_a_revoked_token_or_a_deactivated_workspace_is_gone(
    slack: SlackFake, config: SlackConfig, error: str
) -> None:
    slack.workspaces[TOKEN].revoked = error
    sink = SlackSink(config, static_token(TOKEN))
    assert await deliver(sink, channel("C1"), "k") == Gone(f"slack: {error}")
    assert slack.posts("C1") == []
    await sink.close()


async def test_a_missing_scope_is_a_failure_that_names_it_and_surely_posted_nothing(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.fail("chat.postMessage", "missing_scope", needed="chat:write", provided="commands")
    sink = SlackSink(config, static_token(TOKEN))
    outcome = await deliver(sink, channel("C1"), "k")
    assert outcome == Failed("slack: missing_scope")
    assert isinstance(await deliver(sink, channel("C1"), "k"), Delivered)
    assert slack.called("conversations.history") == []  # a refusal needs no dedupe check
    await sink.close()


async def test_without_the_history_scope_the_dedupe_check_is_skipped_and_the_post_goes_out(
    slack: SlackFake, config: SlackConfig, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fail("conversations.history", "missing_scope", needed="channels:history")
    sink = SlackSink(config, static_token(TOKEN))
    with caplog.at_level(logging.WARNING, logger="bot.chat"):
        outcome = await deliver(sink, channel("C1"), "k", resend=True)
    assert isinstance(outcome, Delivered)
    assert len(slack.posts("C1")) == 1
    assert "cannot read history" in caplog.text and "missing_scope" in caplog.text
    await sink.close()


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_an_unknown_outcome_and_the_resend_checks_history_then_posts_once(
    slack: SlackFake, config: SlackConfig, status: int
) -> None:
    slack.fail("chat.postMessage", "internal_error", status=status)
    sink = SlackSink(config, static_token(TOKEN))
    first = await deliver(sink, channel("C1"), "k5")
    assert isinstance(first, Failed) and first.unknown_outcome
    assert isinstance(await deliver(sink, channel("C1"), "k5"), Delivered)
    assert len(slack.called("conversations.history")) == 1
    assert len(slack.posts("C1")) == 1
    await sink.close()


async def test_a_ratelimited_answer_is_retry_after_with_slacks_seconds(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=7)
    sink = SlackSink(config, static_token(TOKEN))
    outcome = await deliver(sink, channel("C1"), "k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == 7
    await sink.close()


async def test_a_connection_cut_after_slack_stored_the_post_never_doubles_it(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.drop_posts = 1
    sink = SlackSink(config, static_token(TOKEN))
    first = await deliver(sink, channel("C1"), "kcut")  # slack_sdk does not resend it
    assert isinstance(first, Failed) and first.unknown_outcome
    again = await deliver(sink, channel("C1"), "kcut")  # the worker's resend finds it
    assert again == Delivered(slack.posts("C1")[0]["ts"])
    assert len(slack.posts("C1")) == 1
    await sink.close()


async def test_a_post_without_an_answer_is_an_unknown_outcome(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.fail("chat.postMessage", hang=True)
    sink = SlackSink(dataclasses.replace(config, timeout=0.2), static_token(TOKEN))
    outcome = await deliver(sink, channel("C1"), "k")
    assert isinstance(outcome, Failed) and outcome.unknown_outcome
    await sink.close()


async def test_slack_unreachable_is_a_failure_that_surely_posted_nothing(
    config: SlackConfig,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = dataclasses.replace(config, api_base=f"http://127.0.0.1:{closed}/api/")
    sink = SlackSink(unreachable, static_token(TOKEN))
    outcome = await deliver(sink, channel("C1"), "k")
    assert isinstance(outcome, Failed) and not outcome.unknown_outcome
    assert "cannot connect" in outcome.error
    await sink.close()


async def test_a_key_on_the_second_page_of_history_is_found_and_not_posted_again(
    slack: SlackFake, config: SlackConfig
) -> None:
    sink = SlackSink(config, static_token(TOKEN))
    assert isinstance(await deliver(sink, channel("C1"), "key-deep"), Delivered)
    first_ts = slack.posts("C1")[0]["ts"]
    slack.seed("C1", 250)  # newer messages push it past the first page of 200
    again = await deliver(sink, channel("C1"), "key-deep", resend=True)
    assert again == Delivered(first_ts)
    assert len(slack.posts("C1")) == 251
    pages = slack.called("conversations.history")
    assert len(pages) == 2 and pages[1]["cursor"]
    await sink.close()


async def test_history_pages_like_slack(slack: SlackFake) -> None:
    slack.seed("C9", 5)
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)
    first = await client.conversations_history(channel="C9", limit=2)
    assert first["has_more"] is True and len(first["messages"]) == 2
    assert first["messages"][0]["text"] == "seeded 4"  # newest first
    cursor = first["response_metadata"]["next_cursor"]
    rest = await client.conversations_history(channel="C9", limit=10, cursor=cursor)
    assert rest["has_more"] is False and [m["text"] for m in rest["messages"]] == [
        "seeded 2",
        "seeded 1",
        "seeded 0",
    ]
    with pytest.raises(SlackApiError) as foreign:
        await client.conversations_history(channel="C9", cursor="not-a-cursor")
    assert foreign.value.response["error"] == "invalid_cursor"


async def test_an_unknown_method_is_refused_like_slack_does(slack: SlackFake) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)
    with pytest.raises(SlackApiError) as refused:
        await client.api_call("chat.postMesage", json={"channel": "C1", "text": "typo"})
    assert refused.value.response["error"] == "unknown_method"


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "divider"}] * 51, "at most 50 blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "3001"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "151"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
    ],
    ids=["blocks", "section", "header", "header-type"],
)
async def test_blocks_over_block_kit_limits_are_refused_as_invalid_blocks(
    slack: SlackFake, blocks: list[dict[str, object]], problem: str
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    assert problem in " ".join(refused.value.response["errors"])
    assert slack.posts("C1") == []


@pytest.mark.parametrize(
    "metadata",
    [{"event_type": "bad type!", "event_payload": {}}, {"event_type": METADATA_EVENT}],
    ids=["event-type", "no-payload"],
)
async def test_metadata_without_a_valid_type_and_payload_is_refused(
    slack: SlackFake, metadata: dict[str, object]
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="t", metadata=metadata)
    assert refused.value.response["error"] == "invalid_metadata_schema"


async def test_an_oversized_card_is_trimmed_to_what_block_kit_accepts(
    slack: SlackFake, config: SlackConfig
) -> None:
    fields = tuple(CardField("n" * 300, "v" * 3000) for _ in range(80))
    card = Card(title="T" * 400, severity=Severity.CRITICAL, fields=fields, text="d" * 9000)
    sink = SlackSink(config, static_token(TOKEN))
    await sink.pace(channel("C1"))
    assert isinstance(await sink.send(channel("C1"), card, "big"), Delivered)
    await sink.close()


CHARTED = dataclasses.replace(ALERT, chart_png=b"\x89PNG fake", chart_name="sox.png")


@pytest.mark.parametrize(
    ("method", "failure"),
    [
        ("files.completeUploadExternal", {"error": "internal_error"}),
        ("files.getUploadURLExternal", {"hang": True}),
    ],
    ids=["refused", "no-answer"],
)
async def test_a_chart_that_cannot_be_uploaded_leaves_the_alert_delivered_once(
    slack: SlackFake,
    config: SlackConfig,
    caplog: pytest.LogCaptureFixture,
    method: str,
    failure: dict[str, object],
) -> None:
    slack.fail(method, **failure)  # type: ignore[arg-type]
    sink = SlackSink(dataclasses.replace(config, timeout=0.3), static_token(TOKEN))
    with caplog.at_level(logging.WARNING, logger="bot.chat"):
        await sink.pace(channel("C1"))
        outcome = await sink.send(channel("C1"), CHARTED, "kc")
    assert outcome == Delivered(slack.posts("C1")[0]["ts"])
    assert len(slack.posts("C1")) == 1 and slack.uploads == []
    assert "chart upload to slack:T1:C1 failed" in caplog.text
    await sink.close()


async def test_an_invite_hint_that_cannot_be_posted_is_logged_and_the_alert_stays(
    slack: SlackFake, config: SlackConfig, caplog: pytest.LogCaptureFixture
) -> None:
    slack.not_member.add("C1")
    slack.fail("chat.postMessage", "internal_error", after=1)  # the alert goes, the hint not
    sink = SlackSink(config, static_token(TOKEN))
    with caplog.at_level(logging.WARNING, logger="bot.chat"):
        await sink.pace(channel("C1"))
        outcome = await sink.send(channel("C1"), CHARTED, "kh")
    assert isinstance(outcome, Delivered) and len(slack.posts("C1")) == 1
    assert "invite hint to slack:T1:C1 failed" in caplog.text
    await sink.close()


async def test_a_429_with_an_unreadable_retry_after_waits_a_second(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after="soon")
    sink = SlackSink(config, static_token(TOKEN))
    assert await deliver(sink, channel("C1"), "k") == RetryAfter(1.0, "slack: rate limited")
    await sink.close()


async def test_a_resend_to_a_channel_deleted_meanwhile_is_gone(
    slack: SlackFake, config: SlackConfig
) -> None:
    slack.channel_errors["CDEL"] = "channel_not_found"  # its history says so too
    sink = SlackSink(config, static_token(TOKEN))
    outcome = await deliver(sink, channel("CDEL"), "k", resend=True)
    assert outcome == Gone("slack: channel_not_found")
    assert len(slack.called("conversations.history")) == 1
    await sink.close()


async def test_an_unreadable_installation_store_or_attempt_log_is_a_failure_that_sent_nothing(
    slack: SlackFake, config: SlackConfig, tmp_path: Path
) -> None:
    async def broken_tokens(team_id: str) -> str | None:
        raise OSError("installation database unreadable")

    no_tokens = SlackSink(config, broken_tokens)
    assert await deliver(no_tokens, channel("C1"), "k") == Failed("installation store: OSError")
    store = await open_store(f"sqlite:///{tmp_path / 'sputnik.db'}")
    await store.close()  # the store went away under the sink
    unwritable = StoredAttempts(store.keyvalue("slack"))
    no_log = SlackSink(config, static_token(TOKEN), attempts=unwritable)
    outcome = await deliver(no_log, channel("C1"), "k")
    assert isinstance(outcome, Failed) and outcome.error.startswith("attempt log unavailable")
    assert slack.posts("C1") == []
    await no_tokens.close()
    await no_log.close()
