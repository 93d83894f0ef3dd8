"""Discord's limits, enforced by the fake on a clock the test moves, met by the real bot.

The fake answers like Discord: global 429s past 50 requests a second, a 401 for another
token, a 400 for a nonce over 25 characters or an embed over its limits, 10062 for an
interaction answered after 3 s and 40060 for one answered twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord
import pytest

from bot.chat.discord.app import DiscordRuntime, build_runtime
from bot.chat.discord.pacer import DiscordPacer
from bot.chat.discord.sink import DiscordSink
from bot.domain.cards import Card, CardField, Severity
from bot.domain.model import Channel, ChannelRef, OutboxItem
from bot.ports import Delivered, Failed
from bot.ports.store import Store
from bot.services import Services, SystemClock
from handlers.registry import load_registry
from jobs.deliver import deliver_outbox
from jobs.render import notice_card
from tests.chat.conftest import CHANNEL, GUILD, TOKEN, discord_settings
from tests.chat.test_discord_commands import option, replies, run
from tests.chat.test_discord_delivery import sqlite_store
from tests.fakes.clock import FakeClock
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory

FAN_OUT = 60
__all__ = ["sqlite_store"]  # the fixture, re-used


def ref(number: int) -> ChannelRef:
    return ChannelRef("discord", str(GUILD), str(number))


def fake_clock(fake: FakeDiscord) -> FakeClock:
    assert isinstance(fake.clock, FakeClock)
    return fake.clock


def paced_sink(runtime: DiscordRuntime, clock: FakeClock) -> DiscordSink:
    """The runtime's client with a pacer on the fake's clock (its waits move that clock)."""
    return DiscordSink(runtime.client, DiscordPacer(clock=clock, sleep=clock.sleep))


async def notice(item: OutboxItem, channel: Channel) -> Card | None:
    return notice_card(item.payload, channel.language)


async def test_a_fan_out_to_sixty_channels_is_paced_so_discord_never_answers_429(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, sqlite_store: Store
) -> None:
    clock = fake_clock(fake)
    clock.advance(1.0)  # the login's requests left the global window
    for number in range(FAN_OUT):
        await sqlite_store.upsert_channel(Channel(ref(1000 + number)))
        await sqlite_store.enqueue_message(
            "notice", ref(1000 + number), {"text": "hello"}, f"fan-{number}"
        )
    fake.on_rate_limited = clock.advance  # were there a 429, its wait would pass
    sink = paced_sink(rest_runtime, clock)
    delivered = 0
    for _ in range(2 * FAN_OUT):  # one send at a time: each reaches the fake when granted
        report = await deliver_outbox(
            sqlite_store, {"discord": sink}, notice, "worker", clock=SystemClock(), concurrency=1
        )
        if not report.leased:
            break
        delivered += report.delivered
    assert delivered == FAN_OUT
    assert fake.too_many == 0  # a sink that does not pace draws global 429s here
    assert all(len(fake.messages[1000 + n]) == 1 for n in range(FAN_OUT))
    sends = sorted(r.at for r in fake.calls("POST", "/channels/"))
    assert max(sum(1 for t in sends if s <= t < s + 1.0) for s in sends) <= 50


async def test_a_global_429_stops_every_request_until_its_retry_after_then_delivers_once(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    clock = fake_clock(fake)
    fake.spend_global(50)  # another process of the bot used this second's budget
    clock.advance(0.95)
    fake.on_rate_limited = clock.advance  # the client's wait passes on the fake's clock
    sink = rest_runtime.discord_sink
    outcome = await sink.send(Channel(ref(601)), Card(title="after the global limit"), "g" * 24)
    assert isinstance(outcome, Delivered)
    limited, accepted = fake.calls("POST", "/channels/601/messages")
    assert (limited.status, accepted.status) == (429, 200)
    assert rest_runtime.client.http._global_over.is_set()  # discord.py lifted its global lock
    assert len(fake.messages[601]) == 1


async def test_the_fakes_global_429_is_shaped_like_discords(fake: FakeDiscord) -> None:
    fake.spend_global(50)
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.api_base}/users/@me", headers=headers) as answer,
    ):
        body = await answer.json(content_type=None)
        assert answer.status == 429
        assert answer.headers["X-RateLimit-Global"] == "true"
        assert answer.headers["X-RateLimit-Scope"] == "global"
        assert answer.headers["Via"] and answer.headers["Retry-After"] == "1"
    assert body["global"] is True and body["retry_after"] == pytest.approx(1.0)


async def test_a_sixth_message_in_five_seconds_gets_a_bucket_429_until_the_window_passes(
    fake: FakeDiscord,
) -> None:
    clock = fake_clock(fake)
    url = f"{fake.api_base}/channels/{CHANNEL}/messages"
    headers = {"Authorization": f"Bot {TOKEN}"}
    statuses, remaining = [], []
    async with aiohttp.ClientSession() as session:
        for step in range(7):
            if step == 6:
                clock.advance(5.0)
            async with session.post(url, json={"content": "x"}, headers=headers) as answer:
                statuses.append(answer.status)
                remaining.append(answer.headers.get("X-RateLimit-Remaining"))
                if answer.status == 429:
                    body = await answer.json(content_type=None)
                    assert body["global"] is False and answer.headers["X-RateLimit-Bucket"]
    assert statuses == [200, 200, 200, 200, 200, 429, 200]
    assert remaining == ["4", "3", "2", "1", "0", "0", "4"]


async def test_a_wrong_token_is_refused_at_login_and_the_runtime_does_not_start(
    fake: FakeDiscord, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GwrOng.wrongwrongwrongwrongwrongwrong1"
    runtime = build_runtime(
        discord_settings(fake), services, load_registry(), {"DISCORD_TOKEN": wrong}
    )
    assert runtime is not None
    with pytest.raises(discord.LoginFailure):
        await runtime.start()
    await runtime.close()
    assert [(r.path, r.status) for r in fake.requests] == [("/users/@me", 401)]
    assert fake.identify_payload is None  # no gateway connection was tried
    assert wrong not in caplog.text


async def test_a_long_idempotency_key_becomes_a_nonce_discord_accepts_in_every_channel(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    slot = "2025-01-27T21:30:00+00:00"
    for number in (611, 612):
        key = f"digest:discord:{GUILD}:{number}:{slot}"
        outcome = await rest_runtime.sink.send(Channel(ref(number)), Card(title="digest"), key)
        assert isinstance(outcome, Delivered)
        [sent] = fake.messages[number]
        assert len(sent["nonce"]) <= 25 and sent["enforce_nonce"] is True
    assert fake.duplicates == 0


async def test_a_nonce_over_25_characters_is_refused_and_one_without_enforce_nonce_repeats(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    target = rest_runtime.client.get_partial_messageable(620)
    with pytest.raises(discord.HTTPException) as refused:
        await target.send("x", nonce="n" * 26)
    assert (refused.value.status, refused.value.code) == (400, 50035)
    headers = {"Authorization": f"Bot {TOKEN}"}
    url = f"{fake.api_base}/channels/621/messages"
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(url, json={"content": "x", "nonce": "same"}, headers=headers):
                pass
    assert len(fake.messages[621]) == 2  # a nonce alone does not deduplicate
    assert fake.duplicates == 0


def oversized_card() -> Card:
    """Every part of the card over Discord's limits."""
    fields = tuple(CardField("n" * 300, "v" * 1500) for _ in range(40))
    return Card(title="T" * 400, severity=Severity.CRITICAL, fields=fields, text="d" * 9000)


async def test_an_oversized_card_is_trimmed_to_what_discord_accepts(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    outcome = await rest_runtime.sink.send(Channel(ref(630)), oversized_card(), "o" * 24)
    assert isinstance(outcome, Delivered)
    [sent] = fake.messages[630]
    assert sent["embeds"][0]["title"].endswith("…")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"content": "c" * 2001}, "content"),
        ({"embeds": [{"title": "t" * 257}]}, "embeds.0.title"),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds.0.description"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "embeds.0.fields"),
        ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, "embeds.0.fields.0.name"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "embeds.0.fields.0"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "embeds.0.footer.text"),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, "embeds"),
    ],
    ids=["content", "title", "description", "fields", "name", "value", "footer", "total"],
)
async def test_a_message_over_discords_limits_is_a_400_the_sink_reports_as_a_failure(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, body: dict[str, Any], where: str
) -> None:
    target = rest_runtime.client.get_partial_messageable(640)
    with pytest.raises(discord.HTTPException) as refused:
        await target.send(
            content=body.get("content"),
            embeds=[discord.Embed.from_dict(e) for e in body.get("embeds", [])],
        )
    assert (refused.value.status, refused.value.code) == (400, 50035)
    assert where in refused.value.text
    assert not fake.messages[640]


async def test_an_interaction_reaching_the_bot_after_three_seconds_cannot_be_answered(
    runtime: DiscordRuntime, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    make = InteractionFactory(GUILD, CHANNEL)
    late = make.command("help")
    with caplog.at_level(logging.ERROR, logger="bot.chat"):
        await fake.dispatch("INTERACTION_CREATE", late, age=3.5)
        [refused] = await replies(fake, f"/interactions/{late['id']}/")
        assert refused.status == 404
        for _ in range(500):
            if "interaction /help failed" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert "10062" in caplog.text and late["token"] not in caplog.text
    [answered] = await run(fake, make.command("help"))
    assert answered.status == 200  # the bot is still up and answers the next one


async def test_an_interaction_dispatched_again_is_answered_once(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("help")
    [first] = await run(fake, payload)
    await fake.dispatch("INTERACTION_CREATE", payload)  # a replay after a resume
    first, second = await replies(fake, f"/interactions/{payload['id']}/", 2)
    assert (first.status, second.status) == (200, 400)
    assert fake.interactions[payload["id"]].acknowledged


async def test_a_deferred_command_follows_up_while_its_webhook_token_lives(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("shock", [option("symbol", "NVDA")])
    [callback] = await run(fake, payload)
    assert (callback.json["type"], callback.status) == (5, 200)
    [followup] = await replies(fake, f"/webhooks/{payload['application_id']}/{payload['token']}")
    assert followup.status == 200


async def test_a_send_to_a_channel_under_a_5xx_is_a_failure_with_an_unknown_outcome(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.channel_errors[650] = (503, 0)  # discord.py does not retry a 503
    outcome = await rest_runtime.sink.send(Channel(ref(650)), Card(title="t"), "u" * 24)
    assert isinstance(outcome, Failed) and outcome.unknown_outcome
