"""The trader's commands on Slack (issue 23 item 2): `/sputnik snooze …` and `/sputnik watchlist
…` through the real Bolt app over signed HTTP, answered like every other command."""

from __future__ import annotations

from bot.chat.slack.app import SlackRuntime
from bot.domain.model import ChannelRef
from bot.ports.store import Store
from tests.chat.slack.slack_helpers import command_body, post_signed
from tests.chat.slack.test_slack_http import events_url, held, response_text, runtime
from tests.fakes.slack_fake import SlackFake

__all__ = ["held", "runtime"]
HERE = ChannelRef("slack", "T1", "C1")


async def test_a_workspace_admin_snoozes_the_channel_and_the_reply_says_until_when(
    runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    body = command_body(slack, "snooze until 09:30 drop", user="UADMIN")
    assert await post_signed(events_url(runtime), body) == 200
    await slack.wait_for(lambda: slack.responses)
    [answer] = slack.responses
    assert answer["response_type"] == "in_channel"
    assert "paused until" in response_text(slack) and "09:30 UTC" in response_text(slack)
    channel = await store.get_channel(HERE)
    assert channel is not None and channel.snooze is not None and channel.snooze.drop


async def test_a_member_is_refused_snooze_but_may_show_the_watchlist(
    runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "snooze 2h"))
    await post_signed(events_url(runtime), command_body(slack, "watchlist show", response="r2"))
    await slack.wait_for(lambda: len(slack.responses) == 2)
    refused, shown = sorted(slack.responses, key=lambda r: r["response_type"])
    assert refused["response_type"] == "ephemeral" and "permission" in str(refused)
    assert shown["response_type"] == "in_channel" and "NVDA" in str(shown)
    channel = await store.get_channel(HERE)
    assert channel is None or channel.snooze is None
