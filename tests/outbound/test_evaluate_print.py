"""The engine's part of evaluate → claim: which rules a print evaluates, and what they fire."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.app import build_services
from bot.domain.model import ChannelRef, PrintKind, Subscription
from bot.services import Core, Services
from jobs.evaluate import evaluate_print
from jobs.rule_book import PrintTick, RuleBook
from tests.conftest import new_york_presets

DEEPSEEK_DAY = pd.Timestamp("2025-01-27")


@pytest.fixture(scope="module")
def services(core: Core) -> Services:
    return build_services(core, None)  # type: ignore[arg-type]  # the engine reads no store


def book_of(services: Services) -> RuleBook:
    core = services.core
    return RuleBook(core.market.symbols, list(new_york_presets(core).values()))


def tick(
    services: Services,
    changed: set[str] | None = None,
    kind: PrintKind = "close",
    stale: frozenset[str] = frozenset(),
) -> PrintTick:
    snapshot = services.core.market.snapshot(DEEPSEEK_DAY, "close")
    return PrintTick(snapshot, kind, frozenset(changed or snapshot.quotes), stale=stale)


def test_the_deepseek_close_fires_four_presets(services: Services) -> None:
    verdict = evaluate_print(services, tick(services), book_of(services))
    assert [(e.rule_id, e.severity) for e in verdict.fired] == [
        ("deepseek", "critical"),
        ("chip_crash", "warning"),
        ("nvda_decoupling", "critical"),
        ("ai_power_unwind", "critical"),
    ]


def test_only_rules_that_read_a_changed_symbol_are_evaluated(services: Services) -> None:
    verdict = evaluate_print(services, tick(services, {"VST"}), book_of(services))
    assert verdict.evaluated == 1
    assert [e.rule_id for e in verdict.fired] == ["ai_power_unwind"]


def test_a_proxys_print_evaluates_the_rules_of_the_index_it_stands_for(services: Services) -> None:
    verdict = evaluate_print(services, tick(services, {"DIA"}), book_of(services))
    assert [e.rule_id for e in verdict.fired] == ["deepseek"]


def test_pre_market_prints_fire_only_presets_allowed_before_the_bell(services: Services) -> None:
    verdict = evaluate_print(services, tick(services, kind="pre"), book_of(services))
    assert [e.rule_id for e in verdict.fired] == ["deepseek", "chip_crash"]
    assert verdict.fired[0].payload["market_session"] == "pre"


def test_a_rule_reading_a_stale_quote_neither_fires_nor_re_arms(services: Services) -> None:
    verdict = evaluate_print(services, tick(services, stale=frozenset({"^SOX"})), book_of(services))
    assert "deepseek" not in [e.rule_id for e in verdict.fired]
    assert "deepseek" not in verdict.false_rules
    # every preset that reads SOX (the sell-offs and the rallies alike)
    assert set(verdict.skipped_stale) == {"deepseek", "chip_crash", "chip_rally", "relief_rally"}


def test_a_false_rule_is_reported_so_its_cooldowns_re_arm(services: Services) -> None:
    snapshot = services.core.market.snapshot(pd.Timestamp("2025-01-28"), "close")
    quiet = PrintTick(snapshot, "close", frozenset(snapshot.quotes))
    verdict = evaluate_print(services, quiet, book_of(services))
    assert verdict.fired == ()
    assert set(verdict.false_rules) == {
        "deepseek",
        "chip_crash",
        "nvda_decoupling",
        "ai_power_unwind",
        "chip_rally",  # SOX +1.11 %
        "relief_rally",
        "vix_spike",  # VIX −8.32 %
    }


def test_custom_rules_join_the_book_and_leave_it_with_their_subscriptions(
    services: Services,
) -> None:
    book = book_of(services)
    channel = ChannelRef("test", "w", "c")
    custom = Subscription(channel, "custom:NVDA.pct <= -15", expression="NVDA.pct <= -15")
    book.sync_custom([custom])
    verdict = evaluate_print(services, tick(services, {"NVDA"}), book)
    assert "custom:NVDA.pct <= -15" in [e.rule_id for e in verdict.fired]
    fired = next(e for e in verdict.fired if e.rule_id.startswith("custom:"))
    assert fired.payload["expression"] == "NVDA.pct <= -15"
    book.sync_custom([])
    again = evaluate_print(services, tick(services, {"NVDA"}), book)
    assert [e.rule_id for e in again.fired] == ["nvda_decoupling"]


def test_events_name_their_print_and_expire_at_the_next_open(services: Services) -> None:
    event = evaluate_print(services, tick(services), book_of(services)).fired[0]
    assert event.print_id == "2025-01-27T21:00:00+00:00/close"
    assert (
        event.expires_at is not None and event.expires_at.isoformat() == "2025-01-28T14:30:00+00:00"
    )
    assert event.payload["lead"] == "SOX" and event.payload["v"] == 1


def test_an_alert_fires_at_the_prints_own_time_not_the_checks(services: Services) -> None:
    from datetime import UTC, datetime

    snapshot = services.core.market.snapshot(DEEPSEEK_DAY, "close")
    close = datetime(2025, 1, 27, 21, 0, tzinfo=UTC)
    checked = PrintTick(snapshot, "close", frozenset(snapshot.quotes), printed_at=close)
    event = evaluate_print(services, checked, book_of(services)).fired[0]
    assert event.fired_at == close
    assert event.print_id == "2025-01-27T21:00:00+00:00/close"
