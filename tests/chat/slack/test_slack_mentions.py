"""Slack's mention markup is read by the Slack adapter: `/sputnik mention <!subteam^…>`."""

from __future__ import annotations

from bot.chat.slack.app import SlackRuntime
from bot.chat.slack.commands import command_line, plain_mentions
from bot.chat.slack.render import mention_markup
from bot.domain.model import ChannelRef
from bot.stores.port import Store
from tests.chat.slack.slack_helpers import command_body, post_signed
from tests.chat.slack.test_slack_http import events_url, held, response_text, runtime
from tests.fakes.slack_fake import SlackFake

__all__ = ["held", "runtime"]
HERE = ChannelRef("slack", "T1", "C1")


def test_slack_mentions_become_the_plain_words_the_handlers_read() -> None:
    assert plain_mentions("<!subteam^S0123ABC|@traders>") == "S0123ABC"
    assert plain_mentions("<!subteam^S0123ABC>") == "S0123ABC"
    assert plain_mentions("<!here>") == "@here"
    assert plain_mentions("<#C0123ABC|chips>") == "#chips"
    assert plain_mentions("<@U0123ABC|ada> and <@U0456DEF>") == "@ada and @U0456DEF"
    assert command_line("/sputnik", "  mention <!here|here> ") == "mention @here"


def test_a_stored_user_group_pings_it_old_and_new_forms_alike() -> None:
    assert mention_markup("S0123ABC") == "<!subteam^S0123ABC>"
    assert mention_markup("subteam^S0123ABC") == "<!subteam^S0123ABC>"


async def test_an_admin_sets_the_alert_mention_to_a_user_group(
    runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    body = command_body(slack, "mention <!subteam^S0123ABC|@traders>", user="UADMIN")
    assert await post_signed(events_url(runtime), body) == 200
    await slack.wait_for(lambda: slack.responses)
    [answer] = slack.responses
    assert answer["response_type"] == "in_channel"
    assert "@S0123ABC" in response_text(slack)
    channel = await store.get_channel(HERE)
    assert channel is not None and channel.mention == "S0123ABC"
