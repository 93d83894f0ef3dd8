"""The live runner's rule book: custom rules re-read every few seconds, re-arms not repeated
at every print — on both stores, with a real-time source the test advances."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pandas as pd
import pytest

from bot.harness import Harness
from bot.services import Core
from jobs.evaluate import evaluate_and_claim
from jobs.rule_book import PrintTick, RuleBook


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def harness(core: Core, store_url: str) -> AsyncIterator[Harness]:
    opened = await Harness.start(core, store_url)
    yield opened
    await opened.close()


def tick_of(harness: Harness, session: str) -> PrintTick:
    snapshot = harness.services.core.market.snapshot(pd.Timestamp(session), "close")
    harness.clock.set(snapshot.moment)
    return PrintTick(snapshot, "close", frozenset(snapshot.quotes))


def book_for(harness: Harness, seconds: Seconds) -> RuleBook:
    core = harness.services.core
    return RuleBook(
        core.market.symbols, list(core.presets.values()), refresh_seconds=5, real_time=seconds
    )


async def test_a_new_custom_rule_is_evaluated_once_the_refresh_period_has_passed(
    harness: Harness,
) -> None:
    seconds = Seconds()
    book = book_for(harness, seconds)
    await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-24"), book=book)
    await harness.run('/subscribe alerts "NVDA.pct <= -15"')
    report = await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-27"), book=book)
    assert not any(e.rule_id.startswith("custom:") for e in report.fired)
    seconds.now += 5
    again = await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-27"), book=book)
    assert any(e.rule_id.startswith("custom:") for e in again.fired)


async def test_a_rule_that_stays_false_re_arms_once_per_period_not_at_every_print(
    harness: Harness,
) -> None:
    await harness.run("/subscribe alerts deepseek cooldown=1h")
    seconds = Seconds()
    book = book_for(harness, seconds)
    first = await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-28"), book=book)
    second = await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-29"), book=book)
    seconds.now += 5
    third = await evaluate_and_claim(harness.services, tick_of(harness, "2025-01-30"), book=book)
    assert "deepseek" in first.rearmed
    assert "deepseek" not in second.rearmed
    assert "deepseek" in third.rearmed


async def test_a_firing_lets_the_next_false_print_re_arm_at_once(harness: Harness) -> None:
    await harness.run("/subscribe alerts chip_crash cooldown=1d")
    seconds = Seconds()
    book = book_for(harness, seconds)
    await evaluate_and_claim(harness.services, tick_of(harness, "2024-07-31"), book=book)  # false
    fired = await evaluate_and_claim(harness.services, tick_of(harness, "2024-08-01"), book=book)
    quiet = await evaluate_and_claim(harness.services, tick_of(harness, "2024-08-05"), book=book)
    assert [e.rule_id for e in fired.fired] == ["chip_crash"]
    assert "chip_crash" in quiet.rearmed


def test_outside_the_session_a_stand_ins_print_is_read_by_the_rules_on_its_index(
    core: Core,
) -> None:
    # A replay of 2025-01-27: SMH's 5-minute bars stand in for SOX before the open.
    book = RuleBook(core.market.symbols, list(core.presets.values()), stand_ins={"^SOX": "SMH"})
    in_session = {rule.id for rule, _ in book.reading({"SMH"})}
    outside = {rule.id for rule, _ in book.reading({"SMH"}, outside_session=True)}
    assert "chip_crash" not in in_session and {"chip_crash", "deepseek"} <= outside
