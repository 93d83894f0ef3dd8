"""Live alerts carry headlines fetched once per alert and stored with the event: every channel
and every resend shows the same list; replays show none and say why."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pandas as pd
import pytest

from bot.app import build_services
from bot.chat.console.sink import ConsoleSink, Delivery
from bot.domain.cards import Card
from bot.domain.model import Channel, ChannelRef, Subscription
from bot.services import Core, ManualClock, Services
from bot.stores import open_store
from jobs.deliver import drain_outbox
from jobs.evaluate import ClaimReport, evaluate_and_claim
from jobs.render import CardRenderer
from jobs.rule_book import PrintTick
from tests.fakes.news_fakes import FeedFake, Route, YahooNewsFake, rss, search_item, ticker_item
from tests.news.conftest import PRINT, MakeDesk
from tests.stores.conftest import redis_prefix, store_url
from tests.test_card_contract import assert_in_order, assert_within_room

__all__ = ["redis_prefix", "store_url"]

PLATFORM = "test"


@pytest.fixture
async def services(core: Core, store_url: str) -> AsyncIterator[Services]:
    store = await open_store(store_url)
    yield build_services(core, store, clock=ManualClock(PRINT))
    await store.close()


def serve_deepseek_day(yahoo: YahooNewsFake) -> None:
    """What Yahoo says about SOX and the Dow around the 2025-01-27 close."""
    yahoo.ticker_news["^SOX"] = [
        ticker_item(
            "Chip stocks crater as DeepSeek sparks AI spending rethink",
            PRINT - timedelta(hours=2),
            publisher="Reuters",
            link="https://www.reuters.com/chips-deepseek",
        ),
        ticker_item(
            "Chip stocks extend slide after the bell",  # after the print: never shown
            PRINT + timedelta(minutes=30),
            publisher="Reuters",
        ),
    ]
    yahoo.search_news["^SOX"] = [
        search_item(
            "Chip stocks crater as DeepSeek sparks AI spending rethink",  # the same story
            PRINT - timedelta(hours=2, minutes=5),
            publisher="Yahoo Finance",
            related=["^SOX", "NVDA"],
        )
    ]
    yahoo.ticker_news["^DJI"] = [
        ticker_item(
            "Dow rises as investors rotate out of tech",
            PRINT - timedelta(minutes=20),
            publisher="MarketWatch",
            link="https://www.marketwatch.com/dow-rotation",
        )
    ]


async def subscribe(services: Services, english: int, korean: int) -> list[Channel]:
    channels = []
    for index in range(english + korean):
        language = "en" if index < english else "ko"
        ref = ChannelRef(PLATFORM, "w", f"c{index:03d}")
        channel = Channel(ref, language=language)  # type: ignore[arg-type]
        await services.store.upsert_channel(channel)
        await services.store.add_subscription(Subscription(ref, "deepseek"))
        channels.append(channel)
    return channels


async def close_print(services: Services, *, news: bool) -> ClaimReport:
    snapshot = services.core.market.snapshot(pd.Timestamp("2025-01-27"), "close")
    return await evaluate_and_claim(services, PrintTick.from_history(snapshot, "close"), news=news)


async def deliver(services: Services, renderer: CardRenderer) -> list[Delivery]:
    sink = ConsoleSink(platform=PLATFORM)
    await drain_outbox(services.store, {PLATFORM: sink}, renderer, "w", clock=services.clock)
    return sink.delivered


def news_lines(card: Card) -> str:
    fields = {f.name: f.value for f in card.fields}
    return fields.get("Headlines (news reports, not expert views)") or fields.get(
        "뉴스 헤드라인 (보도 내용이며 전문가 견해가 아님)", ""
    )


async def test_every_channel_and_every_resend_shows_the_headlines_fetched_once_with_the_alert(
    services: Services, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve_deepseek_day(yahoo)
    services.news = make_desk()
    await subscribe(services, english=40, korean=20)
    report = await close_print(services, news=True)
    assert len(report.items) == 60
    # One fetch per symbol on the card (SOX and the Dow), however many channels.
    assert Counter(yahoo.news_asked) == {
        ("ticker", "^SOX"): 1,
        ("search", "^SOX"): 1,
        ("ticker", "^DJI"): 1,
        ("search", "^DJI"): 1,
    }
    (stored,) = await services.store.alert_events([report.items[0].alert_ids[0]])
    assert [i["title"] for i in stored.payload["news"]["items"]] == [
        "Dow rises as investors rotate out of tech",
        "Chip stocks crater as DeepSeek sparks AI spending rethink",
    ]
    delivered = await deliver(services, CardRenderer(services))
    english = {news_lines(d.card) for d in delivered if d.channel.language == "en"}
    korean = {news_lines(d.card) for d in delivered if d.channel.language == "ko"}
    assert english == {
        "[1] Dow rises as investors rotate out of tech — MarketWatch · 27 Jan 20:40 UTC · "
        "https://www.marketwatch.com/dow-rotation\n"
        "[2] Chip stocks crater as DeepSeek sparks AI spending rethink — Reuters · "
        "27 Jan 19:00 UTC · https://www.reuters.com/chips-deepseek"
    }
    # Korean channels: each headline in its own language, with its publisher, in KST.
    assert korean == {
        "[1] Dow rises as investors rotate out of tech — MarketWatch · 1월 28일 05:40 KST · "
        "https://www.marketwatch.com/dow-rotation\n"
        "[2] Chip stocks crater as DeepSeek sparks AI spending rethink — Reuters · "
        "1월 28일 04:00 KST · https://www.reuters.com/chips-deepseek"
    }
    # A resend (a new process rendering the stored event) shows the same list, unfetched.
    serve_deepseek_day(yahoo)
    yahoo.ticker_news["^SOX"].insert(
        0, ticker_item("A newer story", PRINT - timedelta(minutes=1), publisher="AP")
    )
    resent = await CardRenderer(services)(report.items[0], delivered[0].channel)
    assert resent is not None and news_lines(resent) == news_lines(delivered[0].card)
    assert len(yahoo.news_asked) == 4


@pytest.mark.parametrize("grouped", [False, True], ids=["single", "grouped"])
async def test_the_headlines_come_after_the_print_and_before_the_views_on_every_platform(
    services: Services, yahoo: YahooNewsFake, make_desk: MakeDesk, grouped: bool
) -> None:
    serve_deepseek_day(yahoo)
    services.news = make_desk()
    (channel,) = await subscribe(services, english=1, korean=0)
    if grouped:
        await services.store.add_subscription(Subscription(channel.ref, "chip_crash"))
    await close_print(services, news=True)
    (delivery,) = await deliver(services, CardRenderer(services))
    card = delivery.card
    assert bool(card.sections) is grouped
    view = card.text.split("\n\n")[-1].split(" (")[0]  # the view's speaker
    markers = ["SOX −9.15 %", "Print", "Headlines (news reports", "[1] Dow rises", view]
    assert_in_order(card, [*markers, "Most similar", "Not investment advice"])
    assert_within_room(card)


async def test_a_replay_fetches_no_news_and_its_card_says_why(
    services: Services, yahoo: YahooNewsFake, make_desk: MakeDesk
) -> None:
    serve_deepseek_day(yahoo)
    services.news = make_desk()
    await subscribe(services, english=1, korean=1)
    await close_print(services, news=False)
    renderer = CardRenderer(services, replay_of=PRINT.date())
    delivered = await deliver(services, renderer)
    assert yahoo.news_asked == []
    by_language = {d.channel.language: news_lines(d.card) for d in delivered}
    assert by_language == {
        "en": "No headlines in a replay: there is no news archive, and today's news on a past "
        "card would mislead.",
        "ko": "재현 카드에는 뉴스 헤드라인을 싣지 않습니다. 지난 뉴스 기록이 없고, 오늘 뉴스는 "
        "과거 카드를 잘못 읽게 합니다.",
    }


async def test_a_feed_that_never_answers_does_not_hold_the_alert_past_its_budget(
    services: Services,
    yahoo: YahooNewsFake,
    make_desk: MakeDesk,
    feeds: FeedFake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve_deepseek_day(yahoo)
    feeds.routes["/slow"] = Route(hang=True)
    feeds.routes["/ko"] = Route(
        rss(
            [("반도체지수 9% 폭락", PRINT - timedelta(hours=1), "https://k.example/1")],
            title="연합뉴스",
        )
    )
    services.news = make_desk([feeds.url("/slow"), feeds.url("/ko")], budget_seconds=0.5)
    await subscribe(services, english=0, korean=1)
    caplog.set_level(logging.WARNING, "bot.news")
    await close_print(services, news=True)
    assert feeds.hanging.is_set()
    (delivery,) = await deliver(services, CardRenderer(services))
    lines = news_lines(delivery.card).splitlines()
    assert lines[0].startswith("[1] Dow rises as investors rotate out of tech — MarketWatch")
    assert lines[1].startswith("[2] 반도체지수 9% 폭락 — 연합뉴스 · 1월 28일 05:00 KST")
    assert [r.getMessage() for r in caplog.records] == [
        "news source 127.0.0.1/slow: not in within the 0.5 s budget; left out; "
        "cards go out without its headlines"
    ]


async def test_with_news_off_the_alert_is_as_before(services: Services) -> None:
    await subscribe(services, english=1, korean=0)
    report = await close_print(services, news=True)
    (stored,) = await services.store.alert_events([report.items[0].alert_ids[0]])
    assert "news" not in stored.payload
    (delivery,) = await deliver(services, CardRenderer(services))
    assert news_lines(delivery.card) == ""


async def test_a_failure_in_the_news_path_never_costs_an_alert(
    services: Services, make_desk: MakeDesk, caplog: pytest.LogCaptureFixture
) -> None:
    desk = make_desk()

    async def broken(symbols: object, *, deadline: float | None = None) -> object:
        raise RuntimeError("a bug in the news path")

    desk.gather = broken  # type: ignore[method-assign]
    services.news = desk
    await subscribe(services, english=2, korean=0)
    report = await close_print(services, news=True)
    assert len(report.items) == 2
    (stored,) = await services.store.alert_events([report.items[0].alert_ids[0]])
    assert "news" not in stored.payload
    assert "the alerts go out without them" in caplog.text
