"""The Discord sink through discord.py's real HTTP client against the loopback fake."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import discord
import pytest

from bot.chat.discord.app import DiscordRuntime
from bot.chat.discord.sink import outcome_of
from bot.domain.cards import Card, CardField, Footer, Severity
from bot.domain.model import Channel, ChannelRef, OutboxItem
from bot.ports import Delivered, Failed, Gone, RetryAfter
from bot.services import SystemClock
from bot.stores import open_store
from jobs.deliver import deliver_outbox
from jobs.render import notice_card
from tests.chat.conftest import GUILD
from tests.fakes.discord_fake import FakeDiscord

ALERT = Card(
    title="DeepSeek shock",
    severity=Severity.CRITICAL,
    fields=(CardField("SOX", "−9.15 %"), CardField("DJI", "+0.65 %")),
    text="Chips crashed while the Dow rose.",
    chart_png=b"\x89PNG\r\n\x1a\nfake",
    chart_name="sox.png",
    footer=Footer("shipped history", datetime(2025, 1, 27, 21, tzinfo=UTC), "Not advice"),
)


async def notice(item: OutboxItem, target: Channel) -> Card | None:
    return notice_card(item.payload, target.language)


def channel(number: int, **kwargs: object) -> Channel:
    """A stored Discord channel."""
    return Channel(ChannelRef("discord", str(GUILD), str(number)), **kwargs)  # type: ignore[arg-type]


async def test_an_alert_reaches_several_channels_each_with_its_nonce_and_no_mentions(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    sink = rest_runtime.discord_sink
    outcomes = []
    for number in (501, 502, 503):
        await sink.pace(channel(number))
        outcomes.append(await sink.send(channel(number), ALERT, f"{number:024x}"))
    assert all(isinstance(o, Delivered) and o.message_id for o in outcomes)
    for number in (501, 502, 503):
        [sent] = fake.messages[number]
        assert sent["nonce"] == f"{number:024x}"
        assert sent["enforce_nonce"] is True
        assert sent["allowed_mentions"] == {"parse": []}
        assert sent["embeds"][-1]["image"]["url"] == "attachment://sox.png"
        assert sent["files"] == {"sox.png": b"\x89PNG\r\n\x1a\nfake"}
    assert not fake.calls("GET", "/gateway")


async def test_a_card_with_a_role_mention_pings_that_role_only(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    card = Card(title="Alert", mention="333333333333333333")
    outcome = await rest_runtime.sink.send(channel(510), card, "a" * 24)
    assert isinstance(outcome, Delivered)
    [sent] = fake.messages[510]
    assert sent["content"] == "<@&333333333333333333>"
    assert sent["allowed_mentions"]["roles"] == [333333333333333333]
    assert sent["allowed_mentions"]["parse"] == []


async def test_a_short_429_is_slept_through_by_discord_py_and_delivered(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.scripted_429[520].append(0.2)
    sink = rest_runtime.discord_sink
    await sink.pace(channel(520))
    counted = len(sink.pacer._global)
    outcome = await sink.send(channel(520), ALERT, "b" * 24)
    assert isinstance(outcome, Delivered)
    assert len(sink.pacer._global) == counted + 1  # the retry took a slot of the window
    assert [r.status for r in fake.calls("POST", "/channels/520/messages")] == [429, 200]
    assert len(fake.messages[520]) == 1


async def test_a_60_second_429_becomes_retry_after_without_waiting(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.scripted_429[521].append(60.0)
    outcome = await rest_runtime.sink.send(channel(521), ALERT, "c" * 24)
    assert isinstance(outcome, RetryAfter)
    assert outcome.seconds == pytest.approx(60.0)
    assert not fake.messages[521]


async def test_a_429_after_five_attempts_becomes_retry_after(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.scripted_429[522].extend([0.01] * 5)
    outcome = await rest_runtime.sink.send(channel(522), ALERT, "d" * 24)
    assert isinstance(outcome, RetryAfter)
    assert len(fake.calls("POST", "/channels/522/messages")) == 5


@pytest.mark.parametrize(("status", "code"), [(403, 50001), (403, 50013), (404, 10003)], ids=str)
async def test_no_access_or_an_unknown_channel_is_gone_while_others_still_receive(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, status: int, code: int
) -> None:
    fake.channel_errors[530] = (status, code)
    gone = await rest_runtime.sink.send(channel(530), ALERT, "e" * 24)
    delivered = await rest_runtime.sink.send(channel(531), ALERT, "f" * 24)
    assert isinstance(gone, Gone)
    assert str(code) in gone.reason
    assert isinstance(delivered, Delivered)
    assert len(fake.calls("POST", "/channels/530/messages")) == 1  # not retried


async def test_other_refusals_are_failures_not_gone(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.channel_errors[540] = (400, 50035)
    outcome = await rest_runtime.sink.send(channel(540), ALERT, "g" * 24)
    assert isinstance(outcome, Failed)
    assert not outcome.unknown_outcome


async def test_a_resend_with_the_same_key_carries_the_same_nonce(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    for _ in range(2):
        assert isinstance(await rest_runtime.sink.send(channel(550), ALERT, "h" * 24), Delivered)
    assert len(fake.messages[550]) == 1
    assert fake.duplicates == 1


def test_digest_keys_of_two_channels_in_one_guild_get_different_nonces() -> None:
    from bot.chat.discord.sink import NONCE_LIMIT, discord_nonce

    first = "digest:discord:1015996478123456789:1100000000000000001:2025-01-27T21:30:00+00:00"
    second = "digest:discord:1015996478123456789:1100000000000000002:2025-01-27T21:30:00+00:00"
    assert discord_nonce(first) != discord_nonce(second)
    assert all(len(discord_nonce(key)) <= NONCE_LIMIT for key in (first, second))
    assert discord_nonce("2e66673c70d7e8f09c4563f5") == "2e66673c70d7e8f09c4563f5"


@pytest.mark.parametrize(("status", "code"), [(403, 50007), (404, 10008)], ids=str)
async def test_a_403_or_404_that_is_not_about_the_channel_is_a_failure_not_gone(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, status: int, code: int
) -> None:
    fake.channel_errors[560] = (status, code)
    outcome = await rest_runtime.sink.send(channel(560), ALERT, "i" * 24)
    assert isinstance(outcome, Failed) and not isinstance(outcome, Gone)
    assert not outcome.unknown_outcome  # Discord refused it: surely not posted
    assert str(code) in outcome.error


async def test_a_connection_cut_after_discord_stored_the_message_is_an_unknown_outcome(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    fake.drop_channels.add(561)  # Discord stores the message, the answer never arrives
    first = await rest_runtime.sink.send(channel(561), ALERT, "j" * 24)
    assert isinstance(first, Failed) and first.unknown_outcome
    fake.drop_channels.clear()
    again = await rest_runtime.sink.send(channel(561), ALERT, "j" * 24)
    assert isinstance(again, Delivered)
    assert len(fake.messages[561]) == 1 and fake.duplicates == 1  # the nonce dropped it


async def test_discord_unreachable_is_a_failure_that_surely_sent_nothing(
    rest_runtime: DiscordRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed}/api/v10")
    outcome = await rest_runtime.sink.send(channel(562), ALERT, "k" * 24)
    assert isinstance(outcome, Failed) and not outcome.unknown_outcome
    assert "cannot connect" in outcome.error


async def test_a_send_without_an_answer_times_out_as_an_unknown_outcome_and_is_not_doubled(
    rest_runtime: DiscordRuntime, fake: FakeDiscord, tmp_path: Path
) -> None:
    now = [time.time()]
    store = await open_store(f"sqlite:///{tmp_path / 'sputnik.db'}", time_source=lambda: now[0])
    ref = ChannelRef("discord", str(GUILD), "563")
    await store.upsert_channel(Channel(ref))
    await store.enqueue_message("notice", ref, {"text": "hello"}, "key-held")
    fake.hold_channels.add(563)  # accepted and stored, never answered
    sinks = {"discord": rest_runtime.sink}
    try:
        held = await deliver_outbox(
            store, sinks, notice, "w", clock=SystemClock(), timeout=0.2, time_source=lambda: now[0]
        )
        assert held.failed == 1
        [item] = await store.list_outbox()
        assert (item.state, item.attempts) == ("pending", 1)
        # On a stalled machine the timeout may even cut the send before it reached Discord:
        # then nothing was stored, and the resend is the first message rather than a dropped one.
        stored_first = len(fake.messages[563])
        fake.hold_channels.clear()
        now[0] += 3600  # past the back-off
        again = await deliver_outbox(
            store, sinks, notice, "w", clock=SystemClock(), time_source=lambda: now[0]
        )
        assert again.delivered == 1
    finally:
        await store.close()
    assert len(fake.messages[563]) == 1  # never twice
    assert fake.duplicates == stored_first  # a stored first send: the resend's nonce dropped it


def test_a_timeout_or_a_dropped_connection_from_the_stack_is_an_unknown_outcome() -> None:
    for exc in (TimeoutError(), aiohttp.ServerDisconnectedError(), ConnectionResetError()):
        outcome = outcome_of(exc)
        assert isinstance(outcome, Failed) and outcome.unknown_outcome, exc
    other = outcome_of(ValueError("bad card"))
    assert isinstance(other, Failed) and not other.unknown_outcome


async def test_a_channel_id_that_is_not_a_number_is_gone_without_a_request(
    rest_runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    before = len(fake.requests)
    outcome = await rest_runtime.sink.send(
        Channel(ChannelRef("discord", str(GUILD), "general")), ALERT, "l" * 24
    )
    assert isinstance(outcome, Gone)
    assert len(fake.requests) == before
