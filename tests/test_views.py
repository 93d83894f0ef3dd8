"""The expert-views knowledge base: loading, validation and ranking."""

from __future__ import annotations

import random
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.domain.library import ViewLibrary, card_views
from bot.domain.views import (
    TOPICS,
    ExpertView,
    UnknownTopicError,
    ViewError,
    balanced_views,
    load_views,
    rank_views,
    views_for_topic,
)
from bot.services import Core
from tests.conftest import need_shared

VIEWS_DIR = Path(__file__).resolve().parents[1] / "data" / "views"
BRIEF = Path(__file__).resolve().parents[2] / "shared" / "seed" / "deepseek-shock-brief.ko.txt"

SEED_IDS = {
    "andreessen-sputnik-moment",
    "bloomberg-price-pressure",
    "cnn-export-controls",
    "dalio-bubble-warning",
    "deepseek-v3-development-cost",
    "kcif-ai-overinvestment-doubts",
    "kcif-apple-on-device-ai",
    "kcif-breadth-and-rebound",
    "kcif-concentration-and-monetization",
    "kcif-efficiency-lifts-chip-demand",
    "kcif-fiscal-deficit-caution",
    "kcif-implications",
    "kcif-inference-demand-early",
    "kcif-selloff-after-stargate-peak",
    "kcif-valuation-and-rates",
    "tollani-brief-outlook",
}

VALID = """\
id = "test-view"
speaker = "Jane Doe"
institution = "Example Research"
source = "Example Daily"
date = 2025-01-29
episode = "deepseek"
stance = "bearish"
topics = ["valuation"]
shock_kinds = ["deepseek"]
key_figures = ["SOX −9.15 %"]
summary_ko = "예시 요약입니다."
summary_en = "An example summary."
attribution_ko = "제인 도, 예시 일보, 2025-01-29"
attribution_en = "Jane Doe, Example Daily, 2025-01-29"
"""


@pytest.fixture(scope="module")
def shipped() -> tuple[ExpertView, ...]:
    """The sixteen seed views of the DeepSeek episode (other episodes' views are checked in
    test_episode_library.py)."""
    return tuple(view for view in load_views(VIEWS_DIR) if view.episode_id == "deepseek")


def _write(directory: Path, name: str, text: str) -> Path:
    if not (directory / "episodes.toml").exists():
        shutil.copy(VIEWS_DIR / "episodes.toml", directory / "episodes.toml")
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _replace_line(field: str, line: str | None) -> str:
    """VALID with the line for ``field`` replaced (or removed when ``line`` is None)."""
    out = [ln for ln in VALID.splitlines() if not ln.startswith(f"{field} =")]
    if line is not None:
        out.append(line)
    return "\n".join(out) + "\n"


# --- the shipped knowledge base ------------------------------------------------------------


def test_the_shipped_knowledge_base_loads_every_seed_view_sorted_by_id(
    shipped: tuple[ExpertView, ...],
) -> None:
    ids = [v.id for v in shipped]
    assert set(ids) >= SEED_IDS
    assert ids == sorted(ids)


def test_every_seeded_view_has_korean_and_english_summaries_and_attributions(
    shipped: tuple[ExpertView, ...],
) -> None:
    hangul = re.compile("[\uac00-\ud7a3]")
    for view in shipped:
        assert view.summary_ko and view.summary_en, view.id
        assert view.attribution_ko and view.attribution_en, view.id
        assert hangul.search(view.summary_ko) and hangul.search(view.attribution_ko), view.id
        assert not hangul.search(view.summary_en), view.id


def test_every_summary_is_one_to_three_sentences(shipped: tuple[ExpertView, ...]) -> None:
    for view in shipped:
        for text in (view.summary_ko, view.summary_en):
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
            assert 1 <= len(sentences) <= 3, (view.id, text)


def test_views_without_a_stated_date_say_so_in_date_note(
    shipped: tuple[ExpertView, ...],
) -> None:
    undated = [v for v in shipped if v.id.startswith(("kcif-", "dalio-", "tollani-"))]
    assert undated
    for view in undated:
        note = view.date_note.lower()
        assert view.date.isoformat() in note and re.search(r"\b(no|not|undated)\b", note), view.id


def test_the_brief_figures_are_kept_exactly(shipped: tuple[ExpertView, ...]) -> None:
    by_id = {v.id: v for v in shipped}
    cost = by_id["deepseek-v3-development-cost"]
    assert "US$5.576 million (about ₩8.06 billion)" in " ".join(cost.key_figures)
    assert "557만 6000달러(약 80억 6000만 원)" in cost.summary_ko
    assert "H800" in cost.summary_en and "H800" in cost.summary_ko
    selloff = by_id["kcif-selloff-after-stargate-peak"]
    for figure in ("Nvidia −17.0 %", "Broadcom −17.4 %", "Nasdaq −3.1 %", "(SOX) −9.1 %"):
        assert figure in " ".join(selloff.key_figures), figure
    for figure in ("17.0 %", "17.4 %", "3.1 %", "9.1 %", "스타게이트"):
        assert figure in selloff.summary_ko, figure
    breadth = by_id["kcif-breadth-and-rebound"]
    assert "Dow Jones +0.65 %, S&P 500 −1.5 %" in breadth.key_figures[0]
    assert "US$100 billion" in by_id["kcif-ai-overinvestment-doubts"].summary_en
    assert "1천억 달러" in by_id["kcif-ai-overinvestment-doubts"].summary_ko
    assert "3 %" in by_id["kcif-apple-on-device-ai"].summary_en
    assert "Sputnik moment" in by_id["andreessen-sputnik-moment"].summary_en
    assert "Bridgewater" in by_id["dalio-bubble-warning"].attribution_en
    assert "Segye Ilbo, 2025-01-29" in by_id["andreessen-sputnik-moment"].attribution_en


def test_korean_summaries_do_not_copy_the_briefs_sentences(
    shipped: tuple[ExpertView, ...],
) -> None:
    need_shared(BRIEF, "the shared seed brief")
    brief = BRIEF.read_text(encoding="utf-8")
    run = 20  # no 20-character stretch of a summary may appear verbatim in the brief
    for view in shipped:
        text = view.summary_ko
        copied = [text[i : i + run] for i in range(len(text) - run) if text[i : i + run] in brief]
        assert copied == [], view.id


def test_a_new_view_is_added_by_dropping_a_file(tmp_path: Path) -> None:
    shutil.copytree(VIEWS_DIR, tmp_path, dirs_exist_ok=True)
    _write(tmp_path, "deepseek/test-view.toml", VALID)
    views = load_views(tmp_path)
    assert "test-view" in {v.id for v in views}
    added = next(v for v in views if v.id == "test-view")
    assert added.date == date(2025, 1, 29)
    assert added.symbols == () and added.date_note == ""


# --- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "line", "reason"),
    [
        ("summary_en", None, "missing"),
        ("stance", 'stance = "gloomy"', "must be one of bearish, bullish, mixed, fact"),
        ("topics", 'topics = ["valuation", "moon-phase"]', "unknown value 'moon-phase'"),
        ("shock_kinds", 'shock_kinds = ["flash_crash"]', "unknown value 'flash_crash'"),
        ("date", 'date = "2025-13-40"', "not an ISO date"),
        ("date", "date = 2025-01-29T10:00:00", "without a time"),
        ("topics", 'topics = "valuation"', "list of non-empty strings"),
        ("summary_ko", 'summary_ko = "  "', "must not be empty"),
        ("id", 'id = "Not A Slug"', "lowercase"),
    ],
)
def test_a_bad_field_is_a_view_error_naming_the_file_and_the_field(
    tmp_path: Path, field: str, line: str | None, reason: str
) -> None:
    path = _write(tmp_path, "test-view.toml", _replace_line(field, line))
    with pytest.raises(ViewError) as info:
        load_views(tmp_path, shock_kinds={"deepseek", "chip_crash"})
    message = str(info.value)
    assert message.startswith(f"{path}: field '{field}': ")
    assert reason in message
    assert info.value.field == field


def test_a_wrong_stance_reads_exactly_as_documented(tmp_path: Path) -> None:
    _write(tmp_path, "test-view.toml", _replace_line("stance", 'stance = "gloomy"'))
    with pytest.raises(ViewError) as info:
        load_views(tmp_path)
    expected = "test-view.toml: field 'stance': must be one of bearish, bullish, mixed, fact"
    assert str(info.value) == f"{tmp_path}/{expected}"


def test_an_unknown_field_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "test-view.toml", VALID + 'mood = "grim"\n')
    with pytest.raises(ViewError, match=rf"^{re.escape(str(path))}: field 'mood': unknown field"):
        load_views(tmp_path)


def test_a_duplicate_id_is_an_error_naming_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path, "deepseek/test-view.toml", VALID)
    second = _write(tmp_path, "other/test-view.toml", VALID)
    with pytest.raises(ViewError) as info:
        load_views(tmp_path)
    message = str(info.value)
    assert str(first) in message and str(second) in message
    assert "field 'id'" in message and "duplicate id 'test-view'" in message


def test_a_toml_syntax_error_is_a_view_error_naming_the_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "test-view.toml", VALID.replace('stance = "bearish"', "stance = bearish")
    )
    with pytest.raises(ViewError) as info:
        load_views(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid TOML")
    assert "line 7" in message


def test_files_that_are_not_toml_are_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# notes")
    _write(tmp_path, "test-view.toml", VALID)
    assert [v.id for v in load_views(tmp_path)] == ["test-view"]


# --- ranking -----------------------------------------------------------------------------------


def test_a_deepseek_shock_on_nvda_ranks_the_nvda_views_first_then_by_id(
    shipped: tuple[ExpertView, ...],
) -> None:
    # Scores: deepseek (4) + NVDA in symbols (3) = 7 for the four views naming NVDA; all are dated
    # 2025-01-29, so the tie goes to id order. Then the deepseek-only views (4), also by id.
    ranked = rank_views(shipped, shock_kinds={"deepseek"}, symbol="NVDA", limit=6)
    assert [v.id for v in ranked] == [
        "deepseek-v3-development-cost",
        "kcif-efficiency-lifts-chip-demand",
        "kcif-inference-demand-early",
        "kcif-selloff-after-stargate-peak",
        "andreessen-sputnik-moment",
        "bloomberg-price-pressure",
    ]
    # the default two: one bearish, one bullish
    top_two = rank_views(shipped, shock_kinds={"deepseek"}, symbol="nvda")
    assert [(v.id, v.stance) for v in top_two] == [
        ("deepseek-v3-development-cost", "fact"),
        ("kcif-efficiency-lifts-chip-demand", "bullish"),
    ]


def test_an_ai_power_unwind_shock_ranks_power_demand_views_first_when_asked(
    shipped: tuple[ExpertView, ...],
) -> None:
    plain = rank_views(shipped, shock_kinds={"ai_power_unwind"}, limit=3)
    assert [v.id for v in plain] == [
        "bloomberg-price-pressure",
        "dalio-bubble-warning",
        "kcif-ai-overinvestment-doubts",
    ]
    focused = rank_views(
        shipped, shock_kinds={"ai_power_unwind"}, topics={"power-demand", "ai-capex"}, limit=3
    )
    # power-demand or ai-capex (+2) on top of the shock kind (4) = 6
    assert [v.id for v in focused] == [
        "bloomberg-price-pressure",
        "kcif-ai-overinvestment-doubts",
        "kcif-concentration-and-monetization",
    ]
    power_only = rank_views(shipped, shock_kinds={"ai_power_unwind"}, topics={"power-demand"})
    assert power_only[0].id == "kcif-efficiency-lifts-chip-demand"


def test_ranking_does_not_depend_on_input_order(shipped: tuple[ExpertView, ...]) -> None:
    expected = rank_views(shipped, shock_kinds={"chip_crash"}, topics={"valuation"}, limit=20)
    shuffled = list(shipped)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        again = rank_views(shuffled, shock_kinds={"chip_crash"}, topics={"valuation"}, limit=20)
        assert again == expected


def test_ranking_prefers_newer_views_on_equal_scores_and_drops_irrelevant_ones(
    shipped: tuple[ExpertView, ...],
) -> None:
    base = shipped[0]
    old = _clone(base, id="zz-old", date=date(2024, 1, 1), shock_kinds=("nvda_decoupling",))
    new = _clone(base, id="zz-new", date=date(2025, 6, 1), shock_kinds=("nvda_decoupling",))
    other = _clone(base, id="aa-other", shock_kinds=("chip_crash",), topics=("rates",))
    ranked = rank_views([old, other, new], shock_kinds={"nvda_decoupling"}, limit=5)
    assert [v.id for v in ranked] == ["zz-new", "zz-old"]
    assert rank_views([old, new], shock_kinds={"nvda_decoupling"}, limit=0) == []


def _clone(view: ExpertView, **changes: object) -> ExpertView:
    from dataclasses import replace

    return replace(view, **changes)  # type: ignore[arg-type]


def test_every_seed_view_uses_only_the_vocabularies(
    shipped: tuple[ExpertView, ...], core: Core
) -> None:
    for view in shipped:
        assert set(view.topics) <= set(TOPICS)
        assert set(view.shock_kinds) <= set(core.presets) | {"deepseek"}


def test_views_for_topic_filters_newest_first_and_accepts_loose_spelling(
    shipped: tuple[ExpertView, ...],
) -> None:
    rates = views_for_topic(shipped, "Rates")
    assert [v.id for v in rates] == [
        "dalio-bubble-warning",
        "kcif-fiscal-deficit-caution",
        "kcif-valuation-and-rates",
    ]
    assert [v.id for v in views_for_topic(shipped, "export controls")] == [
        "cnn-export-controls",
        "deepseek-v3-development-cost",
        "kcif-ai-overinvestment-doubts",
    ]
    assert len(views_for_topic(shipped, None)) == len(shipped)


def test_views_for_an_unknown_topic_raises_a_value_error_listing_the_topics(
    shipped: tuple[ExpertView, ...],
) -> None:
    with pytest.raises(UnknownTopicError, match="ai-capex") as info:
        views_for_topic(shipped, "crypto")
    assert isinstance(info.value, ValueError)


def test_balanced_views_show_both_sides_in_rank_order() -> None:
    views = load_views(VIEWS_DIR)
    ranked = rank_views(
        views, shock_kinds=["deepseek"], topics=["chip-demand"], symbol="NVDA", limit=8
    )
    chosen = balanced_views(ranked, limit=2)
    assert len(chosen) == 2
    assert len({view.stance for view in chosen}) == 2
    assert chosen[0] is ranked[0]


# --- views in context ------------------------------------------------------------------------


def test_andreessens_sputnik_moment_is_mixed_and_deepseeks_cost_report_is_a_fact(
    shipped: tuple[ExpertView, ...],
) -> None:
    by_id = {view.id: view for view in shipped}
    assert by_id["andreessen-sputnik-moment"].stance == "mixed"
    assert by_id["deepseek-v3-development-cost"].stance == "fact"
    readme = (VIEWS_DIR / "README.md").read_text(encoding="utf-8")
    for stance in ("bearish", "bullish", "mixed", "fact"):
        assert f"`{stance}`" in readme


def test_every_seed_view_names_the_deepseek_episode(shipped: tuple[ExpertView, ...]) -> None:
    assert len(shipped) == len(SEED_IDS)
    for view in shipped:
        assert view.episode is not None and view.episode.id == "deepseek", view.id
        assert view.episode.first_session == date(2025, 1, 27)
        assert view.episode.name_en == "DeepSeek shock" and view.episode.name_ko == "딥시크 충격"


def test_a_view_without_an_episode_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "test-view.toml", _replace_line("episode", None))
    with pytest.raises(ViewError, match="field 'episode': missing"):
        load_views(tmp_path)


def _library(views: tuple[ExpertView, ...]) -> ViewLibrary:
    return ViewLibrary(views)


def test_views_fit_their_own_episode_without_a_label(shipped: tuple[ExpertView, ...]) -> None:
    found = card_views(
        _library(shipped), session=date(2025, 1, 27), kinds=["chip_crash"], symbols=["NVDA"]
    )
    assert found is not None and found.own and found.missing == ()
    assert all(match.own_episode and match.context("en") == "" for match in found.chosen)
    assert {match.view.stance for match in found.chosen} == {"bullish", "bearish"}


def test_a_korean_session_reacting_to_the_episode_is_its_own_episode(
    shipped: tuple[ExpertView, ...],
) -> None:
    found = card_views(_library(shipped), session=date(2025, 2, 3), days=[date(2025, 1, 31)])
    assert found is not None and found.own
    assert found.chosen and all(match.own_episode for match in found.chosen)


def test_a_covid_chip_crash_finds_no_view_about_deepseek(shipped: tuple[ExpertView, ...]) -> None:
    library = _library(shipped)
    found = card_views(library, session=date(2020, 3, 16), kinds=["chip_crash"])
    assert found is None
    deepseek = library.episode("deepseek")
    # even named as the closest episode, one that began after the session is no answer
    assert card_views(library, session=date(2024, 8, 5), closest=deepseek) is None


def test_a_later_deepseek_style_shock_labels_the_view_with_its_episode(
    shipped: tuple[ExpertView, ...],
) -> None:
    library = _library(shipped)
    found = card_views(
        library, session=date(2026, 7, 1), closest=library.episode("deepseek"), distance=1.2
    )
    assert found is not None and not found.own and found.distance == 1.2
    first = found.chosen[0]
    assert not first.own_episode
    assert first.context("en") == "said about the 2025-01-27 DeepSeek shock (2025-01-29)"
    assert first.context("ko") == "2025-01-27 딥시크 충격에 대한 발언 (2025-01-29)"
