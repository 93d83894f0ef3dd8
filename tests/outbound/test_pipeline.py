"""Subscribe, replay a print, read what the channel received: the outbound path end to end.

The harness drives the real handlers, the claim, the outbox (SQLite and Redis), the delivery
worker, the card renderer and a capturing sink, as errbot's testbot captures what a bot sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.domain.cards import Severity
from bot.domain.model import Channel, ChannelRef
from bot.harness import Harness
from bot.services import Core


@pytest.fixture
async def harness(core: Core, store_url: str) -> AsyncIterator[Harness]:
    opened = await Harness.start(core, store_url)
    yield opened
    await opened.close()


async def subscribe_every_preset(harness: Harness, channel: ChannelRef | None = None) -> None:
    for preset in harness.services.core.presets:
        card = await harness.run(f"/subscribe alerts {preset}", channel=channel)
        assert card.severity is not Severity.ERROR, card.text


def section_names(card_sections: tuple) -> list[tuple[str, Severity]]:  # type: ignore[type-arg]
    return [(section.title.split(":")[0], section.severity) for section in card_sections]


async def test_a_subscribed_channel_receives_one_message_per_print_in_severity_order(
    harness: Harness,
) -> None:
    await subscribe_every_preset(harness)
    opening = await harness.replay_print("2025-01-27", "open")
    closing = await harness.replay_print("2025-01-27", "close")
    assert len(opening) == 1 and len(closing) == 1
    assert section_names(opening[0].card.sections) == [
        ("NVIDIA decouples", Severity.WARNING),
        ("Chip crash", Severity.NOTICE),
    ]
    assert section_names(closing[0].card.sections) == [
        ("DeepSeek-style shock", Severity.CRITICAL),
        ("NVIDIA decouples", Severity.CRITICAL),
        ("AI-power unwind", Severity.CRITICAL),
        ("Chip crash", Severity.WARNING),
    ]
    assert "SOX −9.15 % · DJI +0.65 %" in closing[0].text
    assert closing[0].card.chart_png is not None


async def test_a_print_already_alerted_this_session_sends_nothing_again(harness: Harness) -> None:
    await subscribe_every_preset(harness)
    assert len(await harness.replay_print("2025-01-27", "close")) == 1
    assert await harness.replay_print("2025-01-27", "close") == []


async def test_a_channel_subscribed_to_one_preset_gets_only_that_section(harness: Harness) -> None:
    await harness.run("/subscribe alerts deepseek")
    received = await harness.replay_print("2025-01-27", "close")
    assert len(received) == 1
    assert received[0].card.title.startswith("DeepSeek-style shock")
    assert received[0].card.sections == ()


async def test_unsubscribed_channels_receive_nothing(harness: Harness) -> None:
    await harness.run("/lang en")
    assert await harness.replay_print("2025-01-27", "close") == []


async def test_each_channel_reads_its_own_language_and_zone_and_charts_render_once_per_language(
    harness: Harness,
) -> None:
    store = harness.services.store
    channels = []
    for n in range(6):
        language = "ko" if n % 2 else "en"
        zone = "Asia/Seoul" if language == "ko" else "America/New_York"
        ref = ChannelRef("test", "desk", f"c{n}")
        await store.upsert_channel(Channel(ref, language=language, timezone=zone))
        await subscribe_every_preset(harness, ref)
        channels.append(ref)
    await harness.claim_print("2025-01-27", "close")
    received = await harness.deliver()
    assert sorted(d.channel.ref.channel_id for d in received) == [f"c{n}" for n in range(6)]
    korean = next(d for d in received if d.channel.language == "ko")
    assert "2025년 1월 28일 (화) 06:00 KST" in korean.text
    english = next(d for d in received if d.channel.language == "en")
    assert "Mon 27 Jan 2025 16:00 EST" in english.text
    assert len({d.idempotency_key for d in received}) == 6
    keys = {d.card.chart_png for d in received}
    assert len(keys) == 2  # one chart per language, shared by every channel of that language


async def test_a_cooldown_alerts_again_only_after_a_quiet_close_re_armed_it(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts chip_crash cooldown=1d")
    assert len(await harness.replay_print("2024-08-01", "close")) == 1  # SOX −7.14 %
    assert await harness.replay_print("2024-08-02", "close") == []  # still crashing: not re-armed
    assert await harness.replay_print("2024-08-05", "close") == []  # SOX −1.92 %: re-arms
    assert len(await harness.replay_print("2024-09-03", "close")) == 1  # SOX −7.75 %


async def test_live_alerts_name_yahoo_and_replayed_ones_the_shipped_history(
    harness: Harness,
) -> None:
    from jobs.render import CardRenderer

    await harness.run("/subscribe alerts deepseek")
    await harness.claim_print("2025-01-27", "close")
    [item] = await harness.services.store.lease("t", limit=5)
    channel = await harness.services.store.get_channel(item.channel)
    assert channel is not None
    live = await CardRenderer(harness.services)(item, channel)
    replayed = await CardRenderer(harness.services, replay_of=date(2025, 1, 27))(item, channel)
    assert live is not None and replayed is not None
    assert live.footer.source == "Yahoo Finance live prints, with the shipped daily history"
    assert replayed.footer.source == "Shipped price history (replay)"
