"""The shipped episode library (data/views): every view loads and keeps the schema's rules.

Each episode has views dated within its span (or a date note); a bullish and a bearish view
by different speakers wherever it has both; no speaker twice on one side; every number a
summary writes is in that view's key figures; every URL is one of the source pack's.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.library import ViewLibrary, load_library
from bot.domain.views import EARLY_DAYS, numbers_in, unbacked_numbers
from bot.services import Core
from tests.conftest import need_shared

ROOT = Path(__file__).resolve().parents[1]
VIEWS_DIR = ROOT / "data" / "views"
PACK = ROOT.parent / "shared" / "views-sources"
_URL = re.compile(r"https?://[^\s<>\"'`]+")
SEED_REPORTS = {("deepseek", "Kwon Do-hyun (권도현)")}
"""(episode, speaker) allowed on one side more than once: the sixteen seed views break the
KCIF New York office's one report into the several points it makes on each side (see
data/views/README.md, "Provenance of the seed views"). Every other speaker is held to one
view per side."""


@pytest.fixture(scope="module")
def library(core: Core) -> ViewLibrary:
    return load_library(VIEWS_DIR, shock_kinds=core.presets)


def pack_urls() -> set[str]:
    """Every URL written in the source pack's episode files."""
    found: set[str] = set()
    for path in sorted(PACK.glob("*.md")):
        for match in _URL.findall(path.read_text(encoding="utf-8")):
            found.add(match.rstrip(".,;:)]"))
    return found


def test_every_view_loads_with_its_episode(library: ViewLibrary) -> None:
    assert len(library) >= 16
    assert library.episode("deepseek") is not None
    for view in library:
        assert view.episode is not None and library.episode(view.episode.id) is view.episode


def test_every_episode_has_views_dated_within_its_span_or_a_date_note(
    library: ViewLibrary,
) -> None:
    for episode in library.episodes:
        views = library.of_episode(episode)
        assert views, f"{episode.id}: no views"
        earliest = episode.first_session - timedelta(days=EARLY_DAYS)
        for view in views:
            inside = earliest <= view.date <= episode.through
            assert inside or view.date_note, f"{view.id}: {view.date} outside {episode.id}"
        assert any(earliest <= v.date <= episode.through for v in views), episode.id


def test_both_sides_come_from_different_speakers_wherever_an_episode_has_both(
    library: ViewLibrary,
) -> None:
    for episode in library.episodes:
        views = library.of_episode(episode)
        bulls = {v.speaker for v in views if v.stance == "bullish"}
        bears = {v.speaker for v in views if v.stance == "bearish"}
        if bulls and bears:
            assert any(b != r for b in bulls for r in bears), episode.id


def test_no_speaker_is_on_one_side_twice(library: ViewLibrary) -> None:
    for episode in library.episodes:
        for side in ("bullish", "bearish"):
            speakers = Counter(v.speaker for v in library.of_episode(episode) if v.stance == side)
            twice = {
                name
                for name, count in speakers.items()
                if count > 1 and (episode.id, name) not in SEED_REPORTS
            }
            assert not twice, f"{episode.id}: {side} twice by {sorted(twice)}"


def test_every_number_in_a_summary_is_one_of_the_views_key_figures(
    library: ViewLibrary,
) -> None:
    missing = {view.id: unbacked_numbers(view) for view in library}
    assert {view_id: numbers for view_id, numbers in missing.items() if numbers} == {}


def test_the_number_rule_reads_decimals_thousands_and_korean_units_but_not_model_names() -> None:
    assert numbers_in("Nvidia fell 17.0 % to $1,234.5; 557만 6000달러") == [
        17.0,
        1234.5,
        557.0,
        6000.0,
    ]
    assert numbers_in("DeepSeek V3 and R1 trained on H800 chips") == []
    assert numbers_in("fiscal Q2 of FY2022, KOSPI200", in_names=True) == [2.0, 2022.0, 200.0]


def test_every_url_is_one_of_the_source_packs() -> None:
    need_shared(PACK, "the shared source pack")
    known = pack_urls()
    library = load_library(VIEWS_DIR)
    unknown = {view.id: view.url for view in library if view.url and view.url not in known}
    assert unknown == {}


def test_pack_views_name_their_source_url(library: ViewLibrary) -> None:
    """Views of the pack's episodes (everything but the seed) carry the URL they came from."""
    for view in library:
        if view.episode_id != "deepseek":
            assert view.url, view.id


async def test_shock_on_each_episodes_first_session_shows_its_own_views_in_both_languages(
    core: Core, library: ViewLibrary, tmp_path: Path
) -> None:
    from bot.harness import Harness

    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'library.db'}")
    try:
        for locale in ("en", "ko"):
            await bot.run(f"/lang {locale}")
            for episode in library.episodes:
                first, through = episode.first_session.isoformat(), episode.through.isoformat()
                card = await bot.run(f"/shock NVDA {first}")
                dash = "–" if locale == "en" else "~"
                head = f"{episode.name(locale)} ({first} {dash} {through}"
                assert card.text.startswith(head), (locale, episode.id, card.text[:80])
                speakers = {v.speaker_name(locale) for v in library.of_episode(episode)}
                assert any(name in card.text for name in speakers), (locale, episode.id)
                assert "said about" not in card.text and "에 대한 발언" not in card.text
    finally:
        await bot.close()
