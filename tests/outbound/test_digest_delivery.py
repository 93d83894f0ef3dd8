"""Digests through the real outbox: each channel's in its language, charts once per language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.domain.model import Channel, ChannelRef, Subscription
from bot.harness import Harness
from bot.services import Core
from jobs.digest import DigestSettings, run_digests


@pytest.fixture
async def harness(core: Core, store_url: str) -> AsyncIterator[Harness]:
    opened = await Harness.start(core, store_url)
    yield opened
    await opened.close()


async def test_four_seoul_morning_digests_share_two_charts_one_per_language(
    harness: Harness,
) -> None:
    store = harness.services.store
    for n in range(4):
        ref = ChannelRef("test", "desk", f"d{n}")
        await store.upsert_channel(Channel(ref, "ko" if n % 2 else "en", "Asia/Seoul"))
        await store.add_subscription(
            Subscription(
                ref, "digest", kind="digest", digest_time="06:30", digest_zone="Asia/Seoul"
            )
        )
    slot = datetime(2025, 1, 27, 21, 30, 20, tzinfo=UTC)  # 06:30 Seoul, the morning after
    harness.clock.set(slot)
    outcomes = await run_digests(harness.services, slot, DigestSettings())
    assert [o.outcome for o in outcomes] == ["queued"] * 4
    received = await harness.deliver()
    assert sorted(d.channel.ref.channel_id for d in received) == ["d0", "d1", "d2", "d3"]
    assert all(d.card.chart_png for d in received)
    assert harness.renderer is not None and harness.renderer.charts_rendered == 2
    korean = next(d for d in received if d.channel.language == "ko")
    assert "미국 증시 요약" in korean.card.title
