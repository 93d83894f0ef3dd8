"""Alert cards: one message per print and channel, in the channel's language and zone."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from bot.app import build_services
from bot.chat.text import render_text
from bot.domain.alert_card import AlertContext, build_alert_card, figures_text
from bot.domain.cards import Severity
from bot.domain.model import AlertEvent, PrintKind
from bot.services import Core, Services
from jobs.evaluate import evaluate_print
from jobs.rule_book import PrintTick, RuleBook
from tests.conftest import new_york_presets


@pytest.fixture(scope="module")
def services(core: Core) -> Services:
    return build_services(core, None)  # type: ignore[arg-type]  # the engine reads no store


def fired(services: Services, session: str, kind: PrintKind) -> tuple[AlertEvent, ...]:
    core = services.core
    snapshot = core.market.snapshot(pd.Timestamp(session), "open" if kind == "open" else "close")
    book = RuleBook(core.market.symbols, list(new_york_presets(core).values()))
    return evaluate_print(
        services, PrintTick(snapshot, kind, frozenset(snapshot.quotes)), book
    ).fired


def context(services: Services, locale: str = "en", zone: str = "America/New_York") -> AlertContext:
    core = services.core
    return AlertContext(core.presets, services.views, locale, zone, "shipped history")  # type: ignore[arg-type]


def test_deepseek_open_is_one_message_nvda_decoupling_warning_then_chip_crash_notice(
    services: Services,
) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "open"), context(services))
    assert [(s.title.split(":")[0], s.severity) for s in card.sections] == [
        ("NVIDIA decouples", Severity.WARNING),
        ("Chip crash", Severity.NOTICE),
    ]
    assert card.severity is Severity.WARNING


def test_deepseek_close_orders_sections_by_severity_then_preset_order(services: Services) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "close"), context(services))
    assert [(s.title.split(":")[0], s.severity) for s in card.sections] == [
        ("DeepSeek-style shock", Severity.CRITICAL),
        ("NVIDIA decouples", Severity.CRITICAL),
        ("AI-power unwind", Severity.CRITICAL),
        ("Chip crash", Severity.WARNING),
    ]
    assert card.title == "4 alerts at the close"


def test_figures_read_the_dow_itself_where_dji_has_the_session(services: Services) -> None:
    deepseek = next(e for e in fired(services, "2025-01-27", "close") if e.rule_id == "deepseek")
    assert figures_text(deepseek, "en") == "SOX −9.15 % · DJI +0.65 %"  # DIA read +0.68 %
    assert figures_text(deepseek, "ko") == "SOX −9.15 % · DJI +0.65 %"


def test_a_seoul_channel_reads_the_close_in_kst(services: Services) -> None:
    card = build_alert_card(
        fired(services, "2025-01-27", "close"), context(services, "ko", "Asia/Seoul")
    )
    text = render_text(card, "ko", zone="Asia/Seoul")
    assert "2025년 1월 28일 (화) 06:00 KST" in text
    assert "16:00 EST" not in text


def test_a_single_alert_takes_the_presets_description_as_its_title(services: Services) -> None:
    deepseek = [e for e in fired(services, "2025-01-27", "close") if e.rule_id == "deepseek"]
    card = build_alert_card(deepseek, context(services))
    assert card.title.startswith("DeepSeek-style shock")
    assert card.sections == ()
    assert card.fields[0].value == "SOX −9.15 % · DJI +0.65 %"


def test_a_message_delivered_more_than_five_minutes_after_its_print_says_delayed(
    services: Services,
) -> None:
    events = fired(services, "2025-01-27", "close")
    late = build_alert_card(events, context(services), arrived_at=1000.0, delivered_at=1301.0)
    prompt = build_alert_card(events, context(services), arrived_at=1000.0, delivered_at=1299.0)
    assert late.banner == "delayed — fired 16:00"
    assert prompt.banner == ""


def test_a_replayed_message_says_it_is_a_replay(services: Services) -> None:
    events = fired(services, "2025-01-27", "close")
    replayed = replace(context(services), replay_of=events[0].session)
    card = build_alert_card(events, replayed)
    assert card.banner == "Replay of Mon 27 Jan 2025 (not live)"


def test_the_view_on_an_alert_names_the_shock_it_was_said_about(services: Services) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "close"), context(services))
    # its own episode: no "said about"; the KCIF report's brief gives no date, so none is shown
    assert "(Bullish) · its source gives no date" in card.text
    # the Segye Ilbo round-up that carries Bloomberg's view is dated: that date is shown
    assert "(Bearish) · said Wed 29 Jan 2025 — Bloomberg" in card.text


def test_what_followed_the_three_most_similar_sessions_is_on_the_card(services: Services) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "close"), context(services))
    similar = next(f for f in card.closing if f.name.startswith("Most similar"))
    assert similar.value.count("→") == 3
    assert "Wed 17 Jul 2024: SOX −6.81 %" in similar.value


def test_cards_carry_no_platform_markup(services: Services) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "close"), context(services))
    everything = " ".join(
        [card.title, card.text, *(f.value for f in card.fields)] + [s.title for s in card.sections]
    )
    assert "**" not in everything and "<" not in everything


def test_an_opening_alert_says_similar_sessions_come_with_the_close(services: Services) -> None:
    card = build_alert_card(fired(services, "2025-01-27", "open"), context(services))
    similar = next(f for f in card.closing if f.name == "Similar past sessions")
    assert similar.value == "Compared on closes: they come with this session's close alert."
