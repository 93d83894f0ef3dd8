"""RSS/Atom feeds through aiohttp and feedparser: good, broken, slow, huge and Korean feeds."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.domain.news import Headline
from bot.news.feeds import trim_items
from bot.services import Core
from tests.fakes.news_fakes import FeedFake, Route, atom, rss
from tests.news.conftest import PRINT, MakeDesk, Ticking

GOOD = [
    (
        "Nvidia plunges 17% as DeepSeek spooks investors",
        PRINT - timedelta(hours=3),
        "https://w.example/1",
    ),
    ("Broadcom falls with chipmakers", PRINT - timedelta(hours=2), "https://w.example/2"),
    ("Gold steady", PRINT - timedelta(hours=1), "https://w.example/3"),
]


async def nvda_headlines(desk: object, core: Core, limit: int = 3) -> list[Headline]:
    from bot.news.service import NewsService

    assert isinstance(desk, NewsService)
    subject = desk.subject(core.market.symbols.resolve("NVDA"))
    found = await desk.headlines(
        [subject], before=PRINT, since=PRINT - timedelta(hours=24), limit=limit
    )
    return found.items


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("bot.news")]


async def test_a_good_rss_feed_and_an_atom_feed_give_relevant_headlines_with_publisher(
    feeds: FeedFake, make_desk: MakeDesk, core: Core
) -> None:
    feeds.routes["/rss"] = Route(rss(GOOD, title="Chip Wire"))
    feeds.routes["/atom"] = Route(
        atom(
            [("NVDA options volume spikes", PRINT - timedelta(minutes=30), "https://a.example/1")]
        ),
        content_type="application/atom+xml",
    )
    desk = make_desk(
        [feeds.url("/rss"), {"url": feeds.url("/atom"), "publisher": "Atom Desk"}], yahoo_news=False
    )
    found = await nvda_headlines(desk, core)
    assert [(h.title, h.publisher, h.link) for h in found] == [
        ("NVDA options volume spikes", "Atom Desk", "https://a.example/1"),
        ("Nvidia plunges 17% as DeepSeek spooks investors", "Chip Wire", "https://w.example/1"),
    ]
    assert found[1].published_at == PRINT - timedelta(hours=3)


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (
            Route(b'<?xml version="1.0"?><rss><channel><title>x</title><item><title', status=200),
            "malformed feed (SAXParseException)",
        ),
        (Route(b"oops", status=500, content_type="text/plain"), "HTTP 500"),
        (
            Route(
                b"<!DOCTYPE html><html><head><title>Login</title></head><body>Nvidia</body></html>",
                content_type="text/html; charset=utf-8",
            ),
            "not a feed (an HTML page)",
        ),
    ],
    ids=["malformed", "http-500", "html-page"],
)
async def test_a_broken_feed_is_left_out_with_one_log_line_and_the_good_feed_still_counts(
    feeds: FeedFake,
    make_desk: MakeDesk,
    core: Core,
    caplog: pytest.LogCaptureFixture,
    route: Route,
    reason: str,
) -> None:
    feeds.routes["/good"] = Route(rss(GOOD, title="Chip Wire"))
    feeds.routes["/bad"] = route
    desk = make_desk([feeds.url("/good"), feeds.url("/bad")], yahoo_news=False)
    caplog.set_level(logging.WARNING, "bot.news")
    found = await nvda_headlines(desk, core)
    assert [h.publisher for h in found] == ["Chip Wire"]
    assert warnings_of(caplog) == [
        f"news source 127.0.0.1/bad: {reason}; cards go out without its headlines"
    ]


async def test_a_feed_that_is_down_is_left_out(
    make_desk: MakeDesk, core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    desk = make_desk([f"http://127.0.0.1:{port}/rss"], yahoo_news=False)
    caplog.set_level(logging.WARNING, "bot.news")
    assert await nvda_headlines(desk, core) == []
    (line,) = warnings_of(caplog)
    assert line.startswith("news source 127.0.0.1/rss: unreachable (")


async def test_a_feed_that_never_answers_is_left_out_at_the_budget(
    feeds: FeedFake, make_desk: MakeDesk, core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    feeds.routes["/good"] = Route(rss(GOOD, title="Chip Wire"))
    feeds.routes["/slow"] = Route(hang=True)
    desk = make_desk([feeds.url("/good"), feeds.url("/slow")], yahoo_news=False, budget_seconds=0.3)
    caplog.set_level(logging.WARNING, "bot.news")
    found = await nvda_headlines(desk, core)
    assert feeds.hanging.is_set()
    assert [h.publisher for h in found] == ["Chip Wire"]
    assert warnings_of(caplog) == [
        "news source 127.0.0.1/slow: not in within the 0.3 s budget; left out; "
        "cards go out without its headlines"
    ]


async def test_a_10000_item_feed_is_read_up_to_its_first_200_items(
    feeds: FeedFake, make_desk: MakeDesk, core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    items = [
        (f"Market note {n}", PRINT - timedelta(minutes=n + 5), f"https://big.example/{n}")
        for n in range(10_000)
    ]
    items[3] = ("Nvidia falls again", PRINT - timedelta(minutes=8), "https://big.example/nv1")
    items[5000] = (
        "Nvidia deep in the archive",
        PRINT - timedelta(minutes=9),
        "https://big.example/nv2",
    )
    feeds.routes["/big"] = Route(rss(items, title="Big Feed"))
    desk = make_desk([feeds.url("/big")], yahoo_news=False, budget_seconds=30)
    caplog.set_level(logging.WARNING, "bot.news")
    found = await nvda_headlines(desk, core)
    assert [h.title for h in found] == ["Nvidia falls again"]
    assert warnings_of(caplog) == [
        "news source 127.0.0.1/big: more than 200 items; read the first 200"
    ]


def test_trimming_a_feed_keeps_a_document_feedparser_reads_whole() -> None:
    import feedparser

    document = rss([(f"t{n}", PRINT, f"https://x/{n}") for n in range(50)])
    trimmed, cut = trim_items(document, 10)
    parsed = feedparser.parse(trimmed)
    assert cut and len(parsed.entries) == 10 and not parsed.bozo
    same, cut = trim_items(document, 50)
    assert same == document and not cut
    atom_doc = atom([(f"t{n}", PRINT, f"https://x/{n}") for n in range(30)])
    assert len(feedparser.parse(trim_items(atom_doc, 5)[0]).entries) == 5


@pytest.mark.parametrize("encoding", ["euc-kr", "utf-8"])
async def test_a_korean_feed_is_read_in_its_own_encoding_and_matched_by_korean_name(
    feeds: FeedFake, make_desk: MakeDesk, core: Core, encoding: str
) -> None:
    korean = [
        ("엔비디아 17% 급락…딥시크 충격", PRINT - timedelta(hours=1), "https://k.example/1"),
        ("코스피 약보합 마감", PRINT - timedelta(hours=2), "https://k.example/2"),
    ]
    feeds.routes["/ko"] = Route(
        rss(korean, title="한국경제 증권", language="ko", encoding=encoding),
        content_type="application/rss+xml",  # the charset only in the XML declaration
    )
    desk = make_desk([feeds.url("/ko")], yahoo_news=False)
    found = await nvda_headlines(desk, core)
    assert [(h.title, h.publisher) for h in found] == [
        ("엔비디아 17% 급락…딥시크 충격", "한국경제 증권")
    ]


async def test_a_failing_feed_is_logged_once_an_hour(
    feeds: FeedFake,
    make_desk: MakeDesk,
    core: Core,
    ticking: Ticking,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feeds.routes["/bad"] = Route(b"no", status=503, content_type="text/plain")
    desk = make_desk([feeds.url("/bad")], yahoo_news=False)
    caplog.set_level(logging.WARNING, "bot.news")
    for _ in range(3):
        ticking.now += 301  # the failure was cached for five minutes: asked again
        await nvda_headlines(desk, core)
    assert feeds.hits["/bad"] == 3
    assert len(warnings_of(caplog)) == 1
    ticking.now += 3600
    await nvda_headlines(desk, core)
    assert len(warnings_of(caplog)) == 2
