"""The synthesis against a loopback OpenAI-compatible model: shown only when it checks out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from bot.app import build_services
from bot.chat.text import render_text
from bot.domain.alert_card import AlertContext, build_alert_card
from bot.domain.model import AlertEvent
from bot.services import Core, ManualClock, Services
from jobs.evaluate import evaluate_print
from jobs.news import attach_news, event_views
from jobs.rule_book import PrintTick, RuleBook
from tests.fakes.news_fakes import Answer, ModelFake, YahooNewsFake, ticker_item
from tests.news.conftest import PRINT, MakeDesk

KEY = "sk-test-0123456789"
GOOD = {
    "en": "Chip stocks cratered as DeepSeek sparked an AI spending rethink, with SOX down "
    "9.15 % [2]. The Dow still rose as investors rotated out of tech [1][3].",
    "ko": "딥시크 충격으로 반도체주가 급락했고 SOX는 9.15 % 내렸습니다 [2]. 다우 지수는 기술주에서 "
    "빠져나온 자금 덕에 올랐습니다 [1].",
}


def language_of(request: dict[str, Any]) -> str:
    return "ko" if "in Korean" in request["messages"][0]["content"] else "en"


@pytest.fixture
async def model() -> AsyncIterator[ModelFake]:
    fake = await ModelFake(lambda request: GOOD[language_of(request)]).start()
    yield fake
    await fake.stop()


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core, None, clock=ManualClock(PRINT))  # type: ignore[arg-type]


@pytest.fixture
def deepseek(services: Services) -> AlertEvent:
    core = services.core
    snapshot = core.market.snapshot(pd.Timestamp("2025-01-27"), "close")
    book = RuleBook(core.market.symbols, list(core.presets.values()))
    fired = evaluate_print(services, PrintTick.from_history(snapshot, "close"), book).fired
    return next(event for event in fired if event.rule_id == "deepseek")


def serve(yahoo: YahooNewsFake) -> None:
    yahoo.ticker_news["^DJI"] = [
        ticker_item("Dow rises as investors rotate out of tech", PRINT - timedelta(minutes=20))
    ]
    yahoo.ticker_news["^SOX"] = [
        ticker_item(
            "Chip stocks crater as DeepSeek sparks AI spending rethink",
            PRINT - timedelta(hours=2),
        )
    ]


async def enriched(
    services: Services,
    make_desk: MakeDesk,
    model: ModelFake,
    event: AlertEvent,
    answer: Callable[[dict[str, Any]], Answer] | None = None,
    **news: Any,
) -> AlertEvent:
    if answer is not None:
        model.answer = answer
    services.news = make_desk(
        summary={"base_url": model.base_url, "model": "fake-1"},
        env={"SPUTNIK_SUMMARY_API_KEY": KEY},
        **news,
    )
    (event,) = await attach_news(services, [event], PRINT)
    return event


def card_text(services: Services, event: AlertEvent, locale: str) -> str:
    core = services.core
    zone = "Asia/Seoul" if locale == "ko" else "America/New_York"
    context = AlertContext(core.presets, services.views, locale, zone, "test")  # type: ignore[arg-type]
    return render_text(build_alert_card([event], context), locale, zone=zone)  # type: ignore[arg-type]


async def test_a_checked_synthesis_is_stored_per_language_and_shown_with_its_view_keys(
    services: Services,
    yahoo: YahooNewsFake,
    make_desk: MakeDesk,
    model: ModelFake,
    deepseek: AlertEvent,
) -> None:
    serve(yahoo)
    event = await enriched(services, make_desk, model, deepseek)
    summary = event.payload["summary"]
    assert {language: doc["text"] for language, doc in summary.items()} == GOOD
    assert summary["en"]["model"] == "fake-1"
    assert [s["kind"] for s in summary["en"]["sources"]] == ["headline", "headline", "view"]
    assert model.authorizations == [f"Bearer {KEY}", f"Bearer {KEY}"]
    # The model read only the card's headlines and views, numbered as the card numbers them.
    (english,) = [r for r in model.requests if language_of(r) == "en"]
    user = english["messages"][1]["content"]
    assert "[1] (headline) Dow rises as investors rotate out of tech" in user
    views = event_views(services, deepseek)
    assert views and f"[3] (view) {views[0].speaker_name('en')}" in user
    assert "SOX −9.15 %" in user
    text = card_text(services, event, "en")
    assert "What the news and experts are saying (generated, checked against its sources)" in text
    assert f"{GOOD['en']}\n    [3] {views[0].speaker_name('en')}, Wed 29 Jan 2025" in text
    # Headlines, then the synthesis, then the views (the card-layout contract's 5, 6, 7).
    order = ["Headlines (news", "What the news and experts", views[0].speaker_name("en") + " ("]
    assert [text.index(m) for m in order] == sorted(text.index(m) for m in order)
    assert GOOD["ko"] in card_text(services, event, "ko")


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (
            {"en": "Chip stocks fell 12 % on DeepSeek [2]. The Dow rose [1]."},
            "sentence 1: the figure 12 is in no cited source",
        ),
        (
            {"en": "Chip stocks cratered on DeepSeek [2]. Analysts were split [9]."},
            "sentence 2 cites [9], which does not exist",
        ),
        ({"en": "Chip stocks cratered on DeepSeek. The Dow rose."}, "sentence 1 cites no source"),
        (
            {"ko": "Chip stocks cratered on DeepSeek [2]. The Dow rose [1]."},
            "not written in Korean",
        ),
    ],
    ids=["invented-figure", "nonexistent-citation", "no-citation", "wrong-language"],
)
async def test_a_synthesis_that_fails_the_check_is_dropped_and_logged(
    services: Services,
    yahoo: YahooNewsFake,
    make_desk: MakeDesk,
    model: ModelFake,
    deepseek: AlertEvent,
    caplog: pytest.LogCaptureFixture,
    answers: dict[str, str],
    reason: str,
) -> None:
    serve(yahoo)
    (bad,) = answers
    caplog.set_level(logging.WARNING, "jobs.news")
    event = await enriched(
        services,
        make_desk,
        model,
        deepseek,
        lambda request: answers.get(language_of(request), GOOD[language_of(request)]),
    )
    assert set(event.payload["summary"]) == {"ko", "en"} - {bad}
    assert [r.getMessage() for r in caplog.records] == [
        f"synthesis dropped rule=deepseek lang={bad}: {reason}"
    ]
    assert "What the news and experts are saying" not in card_text(services, event, bad)
    assert event.payload["news"]["items"]  # the headlines still go out


async def test_a_model_that_never_answers_is_dropped_at_the_budget_and_the_headlines_stay(
    services: Services,
    yahoo: YahooNewsFake,
    make_desk: MakeDesk,
    model: ModelFake,
    deepseek: AlertEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve(yahoo)
    caplog.set_level(logging.WARNING, "jobs.news")
    event = await enriched(
        services, make_desk, model, deepseek, lambda request: None, budget_seconds=1.0
    )
    assert model.waiting.is_set()
    assert "summary" not in event.payload
    assert len(event.payload["news"]["items"]) == 2
    assert sorted(r.getMessage() for r in caplog.records) == [
        "synthesis dropped rule=deepseek lang=en: no answer within the 1 s budget",
        "synthesis dropped rule=deepseek lang=ko: no answer within the 1 s budget",
    ]


async def test_a_model_error_is_dropped_and_logged_without_the_key(
    services: Services,
    yahoo: YahooNewsFake,
    make_desk: MakeDesk,
    model: ModelFake,
    deepseek: AlertEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve(yahoo)
    caplog.set_level(logging.WARNING, "jobs.news")
    event = await enriched(services, make_desk, model, deepseek, lambda request: 401)
    assert "summary" not in event.payload
    messages = sorted(r.getMessage() for r in caplog.records)
    assert messages == [
        "synthesis dropped rule=deepseek lang=en: HTTP 401",
        "synthesis dropped rule=deepseek lang=ko: HTTP 401",
    ]
    assert all(KEY not in m for m in messages)


async def test_without_a_model_nothing_is_asked_and_no_synthesis_is_stored(
    services: Services, yahoo: YahooNewsFake, make_desk: MakeDesk, deepseek: AlertEvent
) -> None:
    serve(yahoo)
    services.news = make_desk()
    (event,) = await attach_news(services, [deepseek], PRINT)
    assert "summary" not in event.payload and len(event.payload["news"]["items"]) == 2
