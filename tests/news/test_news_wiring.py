"""bootstrap builds the news desk from `[news]`/`[summary]` and the environment, or takes one."""

from __future__ import annotations

from pathlib import Path

from bot.app import bootstrap
from bot.news.service import NewsService
from bot.settings import build_settings
from tests.news.conftest import MakeDesk


async def test_bootstrap_builds_the_desk_its_settings_describe(tmp_path: Path) -> None:
    settings = build_settings(
        {
            "news": {
                "feeds": [
                    "https://example.com/chips.rss",
                    {"url": "https://k.example/rss", "publisher": "한국경제"},
                ]
            },
            "summary": {"base_url": "http://127.0.0.1:11434/v1", "model": "local"},
        }
    )
    app = await bootstrap(settings, store_url=f"sqlite:///{tmp_path / 'a.db'}", env={})
    try:
        desk = app.services.news
        assert isinstance(desk, NewsService)
        assert desk.source_names == ["Yahoo Finance", "example.com/chips.rss", "한국경제"]
        assert desk.summarizing and desk.names["NVDA"] == ["Nvidia"]
    finally:
        await app.close()


async def test_with_news_off_there_is_no_desk_and_the_model_stays_off_by_default(
    tmp_path: Path,
) -> None:
    app = await bootstrap(
        build_settings({"news": {"enabled": False}}),
        store_url=f"sqlite:///{tmp_path / 'a.db'}",
        env={},
    )
    try:
        assert app.services.news is None
    finally:
        await app.close()
    default = await bootstrap(
        build_settings({}), store_url=f"sqlite:///{tmp_path / 'b.db'}", env={}
    )
    try:
        assert default.services.news is not None and not default.services.news.summarizing
    finally:
        await default.close()


async def test_a_desk_handed_to_bootstrap_is_the_one_the_services_use(
    tmp_path: Path, make_desk: MakeDesk
) -> None:
    desk = make_desk()
    app = await bootstrap(
        build_settings({}), store_url=f"sqlite:///{tmp_path / 'a.db'}", env={}, news=desk
    )
    try:
        assert app.services.news is desk
    finally:
        await app.close()
