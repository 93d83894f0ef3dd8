"""A Korean trader reads Sputnik: the channel's zone, Korean names, inputs people actually type."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.text import render_text
from bot.domain.cards import Severity
from bot.domain.zones import ZoneError, parse_zone
from bot.harness import Harness
from bot.services import Core

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


def shown(card: object, locale: str = "en") -> str:
    return render_text(card, locale)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("KST", "Asia/Seoul"),
        ("서울", "Asia/Seoul"),
        ("asia/seoul", "Asia/Seoul"),
        ("ET", "America/New_York"),
        ("EST", "America/New_York"),
        ("EDT", "America/New_York"),
        ("뉴욕", "America/New_York"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),
    ],
)
def test_zones_resolve_as_traders_type_them_and_est_is_never_the_fixed_offset_zone(
    typed: str, zone: str
) -> None:
    assert parse_zone(typed) == zone


def test_a_near_miss_zone_gets_suggestions() -> None:
    with pytest.raises(ZoneError) as caught:
        parse_zone("Asia/Seol")
    assert "Asia/Seoul" in caught.value.suggestions


async def test_timezone_sets_the_channels_own_zone_and_alerts_show_the_exchange_clock_too(
    harness: Harness,
) -> None:
    harness.locale = "ko"
    assert (await harness.run("/subscribe alerts chip_crash")).severity is not Severity.ERROR
    card = await harness.run("/timezone KST")
    assert "Asia/Seoul (이 채널이 정한 시간대)" in card.text
    opening = await harness.replay_print("2025-01-27", "open")
    text = opening[0].text
    assert "2025년 1월 27일 (월) 23:30 KST · NYSE 09:30 ET" in text


async def test_a_channel_switched_to_korean_without_its_own_zone_takes_seoul_and_says_so(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts chip_crash")  # an English channel: UTC
    english = await harness.replay_print("2025-01-27", "open")
    assert "Mon 27 Jan 2025 14:30 UTC · NYSE 09:30 ET" in english[0].text
    card = await harness.run("/lang ko")
    assert "Asia/Seoul (채널 언어의 기본값" in card.text
    stored = await harness.services.store.get_channel(harness.channel)
    assert stored is not None and stored.zone_name == "Asia/Seoul"


async def test_a_chosen_zone_survives_a_language_change(harness: Harness) -> None:
    await harness.run("/timezone America/New_York")
    card = await harness.run("/lang ko")
    assert "America/New_York (이 채널이 정한 시간대)" in card.text


async def test_subscribe_digest_with_a_zone_sets_only_the_digests_zone(harness: Harness) -> None:
    await harness.run("/subscribe digest 06:30 KST")
    subscriptions = await harness.services.store.list_subscriptions(harness.channel)
    assert [s.digest_zone for s in subscriptions] == ["Asia/Seoul"]
    channel = await harness.services.store.get_channel(harness.channel)
    assert channel is not None and channel.timezone is None and channel.zone_name == "UTC"


async def test_timezone_without_a_zone_shows_the_channel_settings_and_help_shows_the_zone(
    harness: Harness,
) -> None:
    card = await harness.run("/timezone")
    assert "UTC (the default for the channel's language" in shown(card)
    assert "Time zone" in shown(await harness.run("/help"))


async def test_a_bad_zone_is_refused_with_suggestions_in_the_users_language(
    harness: Harness,
) -> None:
    harness.locale = "ko"
    card = await harness.run("/timezone Asia/Seol")
    assert card.severity is Severity.ERROR
    assert "혹시 이것인가요: Asia/Seoul" in card.text


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("/shock 엔비디아 2025-01-27", "NVDA"),
        ("/shock 하이닉스 2025-01-31", "SK하이닉스"),
        ("/shock ＮＶＤＡ ２０２５－０１－２７", "NVDA"),
    ],
)
async def test_korean_names_and_full_width_input_are_read(
    harness: Harness, typed: str, title: str
) -> None:
    harness.locale = "ko"
    card = await harness.run(typed)
    assert card.severity is not Severity.ERROR, card.text
    assert title in card.title


async def test_quote_takes_a_korean_name(harness: Harness) -> None:
    card = await harness.run("/quote 삼성전자")
    assert card.severity is not Severity.ERROR, card.text


async def test_control_characters_are_echoed_escaped_never_raw(harness: Harness) -> None:
    card = await harness.run("/shock NV\x00DA")
    assert card.severity is Severity.ERROR
    assert "NV\\x00DA" in card.text and "\x00" not in card.text


async def test_an_unquoted_rule_gets_a_hint_to_quote_it(harness: Harness) -> None:
    card = await harness.run("/rules test NVDA.pct <= -5")
    assert card.severity is Severity.ERROR
    assert 'Put the rule in quotes so it reads as one: "NVDA.pct <= -5"' in card.text


async def test_a_date_beyond_what_pandas_holds_is_a_clear_reply(harness: Harness) -> None:
    for day in ("9999-12-31", "0001-01-01"):
        card = await harness.run(f"/shock NVDA {day}")
        assert card.severity is Severity.ERROR
        assert "outside the history" in card.text


async def test_korean_comparisons_with_sox_are_in_percentage_points(harness: Harness) -> None:
    harness.locale = "ko"
    card = await harness.run("/shock NVDA 2025-01-27")
    assert "SOX 대비 −7.82 %p" in shown(card, "ko")


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "9999-12-31"],
        ["replay", "0001-01-01"],
        ["run", "--replay", "2300-01-01"],
        ["backtest", "deepseek", "--from", "9999-12-31"],
    ],
)
def test_a_date_beyond_what_pandas_holds_exits_2_with_one_line(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "OutOfBounds" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
