"""The real Bolt app over HTTP: signed requests, ack before work, replies, permissions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build_services
from bot.chat.slack.app import EVENTS_PATH, SlackRuntime, build_runtime
from bot.domain.model import Channel, ChannelRef
from bot.ports.store import Store
from bot.services import Core
from bot.settings import Settings, build_settings
from tests.chat.slack.conftest import TOKEN
from tests.chat.slack.slack_helpers import SECRET, HeldCommands, command_body, post_signed
from tests.fakes.slack_fake import SlackFake


def http_settings(fake: SlackFake, **slack: Any) -> Settings:
    return build_settings({"slack": {"mode": "http", "port": 0, "api_base": fake.url, **slack}})


@pytest.fixture
def held() -> HeldCommands:
    return HeldCommands()


@pytest.fixture
async def runtime(
    slack: SlackFake, store: Store, core: Core, held: HeldCommands
) -> AsyncIterator[SlackRuntime]:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    services = build_services(core, store)
    built = build_runtime(
        http_settings(slack, admins=["T1:UALLOWED"]), services, held.registry(), env
    )
    assert built is not None
    await built.start()
    yield built
    await built.close()


def events_url(runtime: SlackRuntime) -> str:
    return f"http://127.0.0.1:{runtime.port}{EVENTS_PATH}"


def response_text(fake: SlackFake) -> str:
    return " ".join(str(r.get("text", "")) for r in fake.responses)


async def test_no_slack_token_means_no_slack_runtime(store: Store, core: Core) -> None:
    services = build_services(core, store)
    assert build_runtime(build_settings(), services, HeldCommands().registry(), {}) is None


async def test_a_validly_signed_command_is_answered_200_and_replied_to(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    status = await post_signed(events_url(runtime), command_body(slack, "help"))
    assert status == 200
    await slack.wait_for(lambda: slack.responses)
    [answer] = slack.responses
    assert answer["response_type"] == "ephemeral"
    assert "/shock" in response_text(slack)  # a short command of its own
    assert "/sputnik quote" in response_text(slack) and " /quote" not in response_text(slack)


async def test_a_bad_signature_is_refused_with_401(runtime: SlackRuntime, slack: SlackFake) -> None:
    status = await post_signed(events_url(runtime), command_body(slack, "help"), secret="wrong")
    assert status == 401
    assert slack.responses == []


async def test_a_request_signed_six_minutes_ago_is_refused_and_four_minutes_passes(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    assert await post_signed(events_url(runtime), command_body(slack, "help"), age=360) == 401
    assert await post_signed(events_url(runtime), command_body(slack, "help"), age=240) == 200


async def test_the_ack_goes_out_before_the_slow_work(
    runtime: SlackRuntime, slack: SlackFake, held: HeldCommands
) -> None:
    status = await post_signed(events_url(runtime), command_body(slack, "hold NVDA"))
    assert status == 200  # answered while the handler is still held
    await asyncio.wait_for(held.started.wait(), 5)
    assert slack.responses == []  # the handler runs on after the 200
    held.release.set()
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0]["response_type"] == "in_channel"
    assert "released NVDA" in response_text(slack)


async def test_a_korean_user_gets_the_reply_in_korean(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "help", user="UKO"))
    await slack.wait_for(lambda: slack.responses)
    assert "스푸트니크" in response_text(slack)
    [lookup] = slack.called("users.info")
    assert lookup["include_locale"] in ("1", "true", True)


async def test_a_channels_stored_language_wins_over_the_users_locale(
    runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    await store.upsert_channel(Channel(ChannelRef("slack", "T1", "C1"), language="ko"))
    await post_signed(events_url(runtime), command_body(slack, "help", user="UUSER"))
    await slack.wait_for(lambda: slack.responses)
    assert "스푸트니크" in response_text(slack)


async def test_a_non_admin_is_refused_an_admin_command(
    runtime: SlackRuntime, slack: SlackFake, store: Store
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "subscribe alerts deepseek"))
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0]["response_type"] == "ephemeral"
    assert "permission" in response_text(slack)


async def test_workspace_admins_and_the_allow_list_may_run_admin_commands(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    await post_signed(
        events_url(runtime), command_body(slack, "subscribe alerts deepseek", user="UADMIN")
    )
    await post_signed(
        events_url(runtime),
        command_body(slack, "subscribe alerts chip_crash", user="UALLOWED", response="r2"),
    )
    await slack.wait_for(lambda: len(slack.responses) == 2)
    assert all(r["response_type"] == "in_channel" for r in slack.responses)
    assert "permission" not in response_text(slack)


async def test_a_handler_bug_becomes_a_polite_reply_with_a_reference(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "boom"))
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0]["response_type"] == "ephemeral"
    text = response_text(slack)
    assert "ref" in text and "RuntimeError" not in text and "xoxb" not in text


async def test_a_short_command_runs_like_the_umbrella_one(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "", command_name="/shock"))
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0]["response_type"] == "ephemeral"  # usage: /shock SYMBOL


async def test_a_shock_reply_goes_to_the_channel_with_its_chart_in_the_thread(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    await post_signed(events_url(runtime), command_body(slack, "shock NVDA 2025-01-27"))
    await slack.wait_for(lambda: slack.uploads or slack.responses, timeout=30)
    [post] = slack.posts("C1")
    assert "NVDA" in post["text"]
    assert slack.uploads[0]["thread_ts"] == post["ts"]


async def test_without_the_bot_in_the_channel_the_reply_says_invite_and_has_no_chart(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    slack.channel_errors["CPRIV"] = "not_in_channel"
    await post_signed(
        events_url(runtime), command_body(slack, "shock NVDA 2025-01-27", channel="CPRIV")
    )
    await slack.wait_for(lambda: slack.responses, timeout=30)
    assert slack.responses[0]["response_type"] == "in_channel"
    assert "/invite @Sputnik to see charts" in str(slack.responses[0]["blocks"])
    assert slack.uploads == []


async def test_a_posted_answer_whose_chart_upload_is_refused_gains_the_invite_hint(
    runtime: SlackRuntime, slack: SlackFake
) -> None:
    slack.not_member.add("C1")  # posting works, uploading does not
    await post_signed(events_url(runtime), command_body(slack, "shock NVDA 2025-01-27"))
    await slack.wait_for(lambda: slack.called("chat.update"), timeout=30)
    [answer] = slack.posts("C1")
    assert "/invite @Sputnik to see charts" in str(answer["blocks"])
    assert slack.uploads == [] and slack.responses == []
