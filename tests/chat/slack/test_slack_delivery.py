"""The real delivery worker with the Slack sink and the fake: gone channels, order, 429s."""

from __future__ import annotations

import dataclasses

from bot.chat.slack.config import SlackConfig
from bot.chat.slack.sink import SlackSink, static_token
from bot.domain.cards import Card
from bot.domain.model import Channel, ChannelRef, OutboxItem
from bot.ports.store import Store
from jobs.deliver import deliver_outbox
from tests.chat.slack.conftest import TEAM, TOKEN
from tests.fakes.slack_fake import SlackFake
from tests.stores.fake_platform import FixedClock


async def text_card(item: OutboxItem, channel: Channel) -> Card:
    return Card(title=str(item.payload["text"]))


async def enqueue(store: Store, channel_id: str, texts: list[str]) -> ChannelRef:
    ref = ChannelRef("slack", TEAM, channel_id)
    await store.upsert_channel(Channel(ref))
    for text in texts:
        await store.enqueue_message("notice", ref, {"text": text}, f"{channel_id}-{text}")
    return ref


def titles(slack: SlackFake, channel_id: str) -> list[str]:
    return [p["blocks"][0]["text"]["text"] for p in slack.posts(channel_id)]


async def test_channel_not_found_deactivates_that_channel_while_the_others_receive(
    slack: SlackFake, config: SlackConfig, store: Store
) -> None:
    slack.channel_errors["CDEAD"] = "channel_not_found"
    alive = [await enqueue(store, c, ["one"]) for c in ("C1", "C2", "C3")]
    dead = await enqueue(store, "CDEAD", ["one", "two"])
    sink = SlackSink(dataclasses.replace(config, channel_interval=0.0), static_token(TOKEN))
    report = await deliver_outbox(
        store, {"slack": sink}, text_card, "w1", clock=FixedClock(), timeout=5.0
    )
    assert report.delivered == 3 and report.gone == 2  # both of its items, none elsewhere
    for ref in alive:
        assert titles(slack, ref.channel_id) == ["one"]
    found = await store.get_channel(dead)
    assert found is not None and not found.active
    assert found.inactive_reason == "slack: channel_not_found"
    assert slack.posts("CDEAD") == []


async def test_a_channels_messages_arrive_in_order_one_interval_apart(
    slack: SlackFake, config: SlackConfig, store: Store
) -> None:
    slack.rate_interval = 0.05  # the fake refuses faster posts with 429 + Retry-After
    await enqueue(store, "C1", ["a", "b", "c"])
    sink = SlackSink(dataclasses.replace(config, channel_interval=0.05), static_token(TOKEN))
    report = await deliver_outbox(
        store, {"slack": sink}, text_card, "w1", clock=FixedClock(), timeout=5.0
    )
    assert report.delivered == 3
    assert titles(slack, "C1") == ["a", "b", "c"]
    assert slack.rate_limited == 0
