"""Rules that behave (issue 23 item 1): one rule stored once however it is typed, saved rules
that outlive an unsubscribe, muting, and no internal id in front of a user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.chat.text import render_text
from bot.domain.cards import Severity
from bot.harness import Harness
from bot.services import Core
from jobs.digest import DigestSettings, run_digests
from tests.stores.conftest import redis_prefix, store_url

__all__ = ["redis_prefix", "store_url"]


@pytest.fixture
async def harness(core: Core, store_url: str) -> AsyncIterator[Harness]:
    """The harness on each store (SQLite and Redis)."""
    bot = await Harness.start(core, store_url)
    yield bot
    await bot.close()


async def test_two_spellings_of_one_rule_are_one_subscription_and_one_section(
    harness: Harness,
) -> None:
    first = await harness.run('/subscribe alerts "NVDA.pct <= -8"')
    again = await harness.run('/subscribe alerts "nvda.pct<=-8 %"')
    assert first.severity is Severity.INFO
    assert again.severity is Severity.ERROR and "already subscribed" in again.text
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert (subscription.rule_id, subscription.expression) == (
        "custom:NVDA.pct <= -8",
        "NVDA.pct <= -8",
    )
    [message] = await harness.replay_print("2025-01-27", "close")
    assert message.card.sections == ()  # one alert, not two identical sections
    assert "NVDA.pct <= -8" in message.card.title


async def test_a_rule_a_preset_already_reads_is_refused_naming_the_preset(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts chip_crash")
    card = await harness.run('/subscribe alerts "SOX.pct<=-5"')
    assert card.severity is Severity.ERROR and "'chip_crash'" in card.text
    named = await harness.run('/rules add sox_crash "SOX.pct <= -5"')
    assert named.severity is Severity.ERROR and "'chip_crash'" in named.text
    await harness.run('/rules add mine "NVDA.pct <= -10"')
    twin = await harness.run('/rules add other "NVDA.pct<=-10"')
    assert twin.text == "This rule is already saved as 'mine'."
    by_text = await harness.run('/subscribe alerts "NVDA.pct <= -10.0"')
    assert by_text.severity is Severity.ERROR and "already subscribed" in by_text.text


async def test_changing_a_subscriptions_policy_replaces_it_rather_than_refusing(
    harness: Harness,
) -> None:
    await harness.run('/subscribe alerts "NVDA.pct <= -8"')
    card = await harness.run('/subscribe alerts "NVDA.pct<=-8" once')
    assert card.severity is Severity.INFO
    assert "(was: policy once per session)" in card.text
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert subscription.policy.kind == "once"


async def test_unsubscribing_keeps_the_saved_rule_and_its_name_subscribes_it_again(
    harness: Harness,
) -> None:
    await harness.run('/rules add mine "NVDA.pct<=-10"')
    stopped = await harness.run("/unsubscribe alerts mine")
    assert "stays saved: /subscribe alerts mine turns it back on" in stopped.text
    assert await harness.services.store.list_subscriptions(harness.channel) == []
    listed = render_text(await harness.run("/rules list"), "en")
    assert "mine: NVDA.pct <= -10 — off (/subscribe alerts mine turns it on)" in listed
    again = await harness.run("/subscribe alerts mine")
    assert again.severity is Severity.INFO
    assert "'mine: NVDA.pct <= -10'" in again.text
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert subscription.expression == "NVDA.pct <= -10"
    await harness.run("/rules remove mine")
    assert await harness.services.store.list_subscriptions(harness.channel) == []
    gone = await harness.run("/subscribe alerts mine")
    assert gone.severity is Severity.ERROR and "No preset 'mine'" in gone.text


async def test_an_unknown_name_lists_the_channels_saved_rules_in_korean(harness: Harness) -> None:
    await harness.run("/lang ko")
    await harness.run('/rules add mine "NVDA.pct <= -10"')
    card = await harness.run("/subscribe alerts nope")
    assert "'nope' 프리셋도, 이 채널에 저장된 규칙도 없습니다" in card.text
    assert "저장된 규칙: mine." in card.text


async def test_a_muted_subscription_is_kept_and_sends_nothing_until_unmuted(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts chip_crash")
    muted = await harness.run("/mute chip_crash")
    assert "alerts nobody here until /unmute chip_crash" in muted.text
    assert "chip_crash (muted)" in render_text(await harness.run("/rules list"), "en")
    assert await harness.replay_print("2025-01-27", "close") == []
    assert "already muted" in (await harness.run("/mute chip_crash")).text
    await harness.run("/unmute chip_crash")
    [message] = await harness.replay_print("2025-01-27", "close")  # the same print, unmuted
    assert message.card.title.startswith("Chip crash")
    denied = await harness.run("/mute chip_crash", can_admin=False)
    assert denied.severity is Severity.ERROR and "permission" in denied.text
    missing = await harness.run("/unmute deepseek")
    assert missing.severity is Severity.ERROR and "not subscribed to 'deepseek'" in missing.text


async def test_history_and_digest_show_a_rules_name_or_text_and_its_tier_once(
    harness: Harness,
) -> None:
    await harness.run("/lang ko")
    await harness.run('/rules add mine "NVDA.pct<=-10"')
    await harness.run('/subscribe alerts "AVGO.pct <= -15"')
    await harness.run("/subscribe alerts deepseek")
    await harness.run("/subscribe digest 06:30 Asia/Seoul")
    await harness.replay_print("2025-01-27", "close")
    history = render_text(await harness.run("/history"), "ko")
    assert "custom:" not in history
    assert "mine: NVDA.pct <= -10 [경고]" in history
    assert "AVGO.pct <= -15 [경고]" in history
    assert "deepseek [심각]" in history
    assert "[경고] [" not in history and "([" not in history
    harness.clock.set(datetime(2025, 1, 27, 21, 31, tzinfo=UTC))  # 06:31 in Seoul
    await run_digests(harness.services, harness.clock.now(), DigestSettings(grace_minutes=5))
    [digest] = await harness.deliver()
    text = render_text(digest.card, "ko")
    assert "custom:" not in text
    assert "mine: NVDA.pct <= -10 (경고) — 06:00 KST" in text
    assert digest.card.severity is Severity.CRITICAL, "the strongest alert's tier"
