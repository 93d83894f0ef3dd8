"""`/views` the way a trader asks: by episode date or name, tag or topic, speaker or institution,
in Korean or English, with suggestions for a near miss; no argument lists the episodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.cards import Severity
from bot.domain.library import ViewLibrary, load_library
from bot.harness import Harness
from bot.services import Core

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "episodes"


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    shipped = bot.services.views
    deepseek = shipped.episode("deepseek")
    assert deepseek is not None
    fixtures = load_library(FIXTURES)
    bot.services.views = ViewLibrary(
        [*shipped.of_episode(deepseek), *fixtures], [deepseek, *fixtures.episodes]
    )
    yield bot
    await bot.close()


async def test_without_a_query_it_lists_the_episodes_newest_first(harness: Harness) -> None:
    card = await harness.run("/views")
    assert card.title == "Past shock episodes (newest first)"
    names = [field.name for field in card.fields]
    assert names == [
        "DeepSeek shock · 2025-01-27 (sell-off)",
        "fixture curbs sell-off · 2024-07-17 (sell-off)",
        "fixture guidance surge · 2023-05-25 (rally)",
    ]
    assert "SOX −9.15 %" in card.fields[0].value and "/views deepseek" in card.fields[0].value
    assert "/views 2025-01-27" in card.text


@pytest.mark.parametrize(
    "query", ["deepseek", "DeepSeek", "2025-01-27", "2025-01-29", "딥시크", "딥시크 충격"]
)
async def test_an_episode_by_id_name_alias_or_any_date_in_its_span(
    harness: Harness, query: str
) -> None:
    card = await harness.run(f"/views {query}")
    assert card.title == "Expert views: DeepSeek shock (2025-01-27)"
    assert card.text.startswith("DeepSeek R1's low-cost model")
    stances = [field.name.split(" · ")[1] for field in card.fields]
    assert stances[0] == "Bullish" and "Bearish" in stances  # both sides lead


async def test_a_tag_or_topic_in_english_or_korean(harness: Harness) -> None:
    for query in ("geopolitics", "지정학", "Geopolitics"):
        card = await harness.run(f"/views {query}")
        assert card.title == "Expert views: Geopolitics", query
        speakers = {field.name.split(" · ")[0] for field in card.fields}
        # the tagged episode's views and the views on the topic, each with its episode
        assert {"Fixture Analyst B", "Fixture Analyst C", "Fixture Analyst A"} <= speakers
        assert all("fixture curbs sell-off 2024-07-17" in field.name for field in card.fields)
    card = await harness.run("/views 수출 통제")
    assert card.title == "Expert views: Export controls"


async def test_a_speaker_or_an_institution_in_either_script(harness: Harness) -> None:
    card = await harness.run("/views Dalio")
    assert card.title == "Expert views: Ray Dalio"
    assert [field.name.split(" · ")[0] for field in card.fields] == ["Ray Dalio"]
    card = await harness.run("/views 키움")
    assert [field.name.split(" · ")[0] for field in card.fields] == ["Fixture Analyst B"]
    await harness.run("/lang ko")
    card = await harness.run("/views 레이 달리오")
    assert card.title == "전문가 시각: 레이 달리오" and card.fields[0].name.startswith(
        "레이 달리오"
    )


async def test_a_near_miss_gets_suggestions_in_the_channels_language(harness: Harness) -> None:
    card = await harness.run("/views deepsek")
    assert card.severity is Severity.ERROR
    assert card.text == (
        "No episode, topic, speaker or institution matches 'deepsek'. Did you mean: deepseek?"
    )
    card = await harness.run("/views 2024-08-05")  # no episode on file covers that date
    assert "Did you mean: 2024-07-17 (fixture-curbs)" in card.text
    await harness.run("/lang ko")
    card = await harness.run("/views 딥시그")
    assert card.text.startswith("'딥시그'에 맞는 사건, 주제, 발언자나 기관이 없습니다.")
    assert "혹시 이것인가요: " in card.text


async def test_help_views_says_how_to_ask_in_both_languages(harness: Harness) -> None:
    card = await harness.run("/help views")
    [usage] = card.fields
    assert usage.name == "/views [QUERY…]"
    for part in ("2024-08-05", "deepseek", "tariffs", "관세", "Siegel", "키움", "newest first"):
        assert part in usage.value
    await harness.run("/lang ko")
    card = await harness.run("/help views")
    assert card.fields[0].name == "/views [검색어…]"
    assert "최신순" in card.fields[0].value and "딥시크" in card.fields[0].value


async def test_a_view_flagged_in_the_pack_says_so_on_the_card(
    harness: Harness, tmp_path: Path
) -> None:
    library = harness.services.views
    view = next(v for v in library if v.id == "fixture-b-bear")
    flagged = replace(
        view, reported=True, excerpt_only=True, original_outlet="Reuters", url="https://x.test/a"
    )
    others = [v for v in library if v.id != view.id]
    harness.services.views = ViewLibrary([*others, flagged], library.episodes)
    card = await harness.run("/views 키움")
    value = card.fields[0].value
    assert "(reported, not confirmed, excerpt only, originally Reuters)" in value
    assert value.endswith("https://x.test/a")
