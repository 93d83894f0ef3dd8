"""Episodes as data, no view from the future, and the closest past episode by price signature.

The shipped library is walked whole; the closest-episode tests also use two made-up fixture
episodes (tests/fixtures/episodes), so they hold whatever data/views holds.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from bot.domain.digest_card import build_digest_card
from bot.domain.episodes import ViewError, load_episodes
from bot.domain.library import (
    ViewLibrary,
    ViewMatch,
    card_views,
    load_library,
    pick_sides,
    visible_on,
)
from bot.domain.model import Channel, ChannelRef
from bot.domain.signature import SignatureBook, SignatureSettings, signature_book
from bot.domain.view_figures import figures_line, quoted_figures
from bot.domain.view_section import (
    SessionPast,
    explain_session,
    past_payload,
    view_block,
    views_text,
)
from bot.domain.views import ExpertView
from bot.harness import Harness
from bot.services import Core

ROOT = Path(__file__).resolve().parents[1]
VIEWS_DIR = ROOT / "data" / "views"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "episodes"


@pytest.fixture(scope="module")
def shipped(core: Core) -> ViewLibrary:
    return load_library(VIEWS_DIR, shock_kinds=core.presets)


@pytest.fixture(scope="module")
def mixed(shipped: ViewLibrary) -> ViewLibrary:
    """The DeepSeek seed plus the two fixture episodes (and nothing else)."""
    fixtures = load_library(FIXTURES)
    deepseek = shipped.episode("deepseek")
    assert deepseek is not None
    return ViewLibrary([*shipped.of_episode(deepseek), *fixtures], [deepseek, *fixtures.episodes])


def book_of(library: ViewLibrary, core: Core) -> SignatureBook:
    return signature_book(library, core.market, core.settings.episodes.model_dump())


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


# --- episodes as data ------------------------------------------------------------------------


def test_the_deepseek_episode_is_data_with_its_span_headline_tags_and_direction(
    shipped: ViewLibrary,
) -> None:
    episode = shipped.episode("deepseek")
    assert episode is not None
    assert (episode.first_session, episode.through) == (date(2025, 1, 27), date(2025, 1, 31))
    assert "SOX −9.15 %" in episode.headline_en and "SOX −9.15 %" in episode.headline_ko
    assert episode.direction == "down" and "ai-efficiency" in episode.tags
    assert "딥시크" in episode.aliases
    assert all(view.episode is episode for view in shipped.of_episode(episode))


def _episodes(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "episodes.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
[calm]
first_session = 2024-07-17
through = 2024-07-19
name_en = "x"
name_ko = "엑스"
headline_en = "x"
headline_ko = "엑스"
tags = ["rates"]
direction = "down"
"""


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (('headline_en = "x"\n', ""), "calm.headline_en", "missing"),
        (('direction = "down"', 'direction = "sideways"'), "calm.direction", '"down"'),
        (('tags = ["rates"]', 'tags = ["crypto"]'), "calm.tags", "unknown value 'crypto'"),
        (("through = 2024-07-19", "through = 2024-07-01"), "calm.through", "before"),
        (('direction = "down"', 'direction = "down"\nmood = 1'), "calm.mood", "unknown field"),
        (("[calm]", '["Calm Day"]'), "Calm Day", "lowercase"),
    ],
)
def test_a_bad_episode_is_an_error_naming_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, reason: str
) -> None:
    path = _episodes(tmp_path, GOOD.replace(*change))
    with pytest.raises(ViewError) as info:
        load_episodes(path)
    assert str(info.value).startswith(f"{path}: field '{field}': ") and reason in str(info.value)


def test_episodes_may_not_overlap(tmp_path: Path) -> None:
    later = GOOD.replace("[calm]", "[storm]").replace("2024-07-17", "2024-07-18")
    path = _episodes(tmp_path, GOOD + "\n" + later)
    with pytest.raises(ViewError, match=r"storm\.first_session.*spans may not overlap"):
        load_episodes(path)


VIEW = """\
id = "calm-view"
episode = "calm"
speaker = "Jane Doe"
institution = "Example Research"
source = "Example Daily"
date = 2024-07-18
stance = "bearish"
topics = ["rates"]
key_figures = []
summary_ko = "예시입니다."
summary_en = "An example."
attribution_ko = "제인 도"
attribution_en = "Jane Doe"
"""


def _library_dir(tmp_path: Path, view: str, name: str = "calm-view") -> Path:
    _episodes(tmp_path, GOOD)
    folder = tmp_path / "calm"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(view, encoding="utf-8")
    return tmp_path


def test_a_view_reads_the_pack_fields_url_reported_excerpt_only_and_original_outlet(
    tmp_path: Path,
) -> None:
    extra = (
        'url = "https://example.com/a"\nreported = true\nexcerpt_only = true\n'
        'original_outlet = "Reuters"\n'
    )
    [view] = load_library(_library_dir(tmp_path, VIEW + extra))
    assert (view.url, view.reported, view.excerpt_only) == ("https://example.com/a", True, True)
    assert view.original_outlet == "Reuters" and view.shock_kinds == ()


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ('url = "example.com/a"', "url", "not an http(s) URL"),
        ('reported = "yes"', "reported", "true or false"),
        ('episode = "storm"', "episode", "unknown episode 'storm'"),
        ("date = 2024-08-30", "date", "add a date_note"),
        ('shock_kinds = ["flash_crash"]', "shock_kinds", "unknown value 'flash_crash'"),
    ],
)
def test_a_bad_pack_field_is_an_error_naming_it(
    tmp_path: Path, line: str, field: str, reason: str
) -> None:
    name = line.split(" = ")[0]
    text = "\n".join(ln for ln in VIEW.splitlines() if not ln.startswith(f"{name} =")) + "\n"
    directory = _library_dir(tmp_path, text + line + "\n")
    with pytest.raises(ViewError) as info:
        load_library(directory, shock_kinds={"chip_crash"})
    assert f"field '{field}'" in str(info.value) and reason in str(info.value)


def test_a_date_outside_the_span_is_fine_with_a_date_note_saying_why(tmp_path: Path) -> None:
    text = VIEW.replace("date = 2024-07-18", "date = 2024-08-30")
    text += 'date_note = "Said six weeks later, in a retrospective."\n'
    [view] = load_library(_library_dir(tmp_path, text))
    assert view.date == date(2024, 8, 30)


def test_a_views_id_is_its_file_name(tmp_path: Path) -> None:
    with pytest.raises(ViewError, match="must equal the file name"):
        load_library(_library_dir(tmp_path, VIEW, name="other-name"))


def test_shock_kinds_are_optional_and_name_a_preset_or_an_episode(tmp_path: Path) -> None:
    text = VIEW + 'shock_kinds = ["chip_rally", "calm"]\n'
    [view] = load_library(_library_dir(tmp_path, text), shock_kinds={"chip_rally"})
    assert view.shock_kinds == ("chip_rally", "calm")


def test_views_are_read_from_every_episode_folder(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    library = load_library(tmp_path)
    assert {view.episode_id for view in library} == {"fixture-curbs", "fixture-surge"}
    assert [e.id for e in library.episodes] == ["fixture-surge", "fixture-curbs"]


# --- no view from the future -------------------------------------------------------------------


def _sessions_around(core: Core, library: ViewLibrary) -> list[date]:
    """Every session of every episode, 30 sessions after each, and a few quiet ones."""
    index = core.market.sessions("^SOX")
    days: set[date] = set()
    for episode in library.episodes:
        start = int(index.searchsorted(pd.Timestamp(episode.first_session)))
        days |= {day.date() for day in index[max(start - 3, 0) : start + 35]}
    return sorted(days)


def test_no_card_shows_a_view_dated_after_its_session_outside_its_own_episode(
    core: Core, shipped: ViewLibrary, mixed: ViewLibrary
) -> None:
    kinds = list(core.presets)
    for library in (shipped, mixed):
        book = book_of(library, core)
        for day in _sessions_around(core, library):
            own = library.own_episode({day})
            candidates = [None, *(e for e in library.episodes if e.first_session < day)]
            for closest in candidates:  # every earlier episode, as if it were the closest
                found = card_views(library, session=day, closest=closest, kinds=kinds)
                for match in found.chosen if found else ():
                    view = match.view
                    if own is not None and view.episode is own:
                        assert view.date <= own.through, (day, view.id)
                    else:
                        assert view.date <= day, (day, view.id)
                        assert view.episode is not None and view.episode.first_session < day
            past = explain_session(
                library, book, session=day, signature=book.session_signature(day), kinds=kinds
            )
            for match in past.views.chosen if past.views else ():
                if not (own is not None and match.view.episode is own):
                    assert match.view.date <= day, (day, match.view.id)


def test_a_view_said_after_its_episode_appears_only_once_its_day_has_come(
    mixed: ViewLibrary,
) -> None:
    curbs = mixed.episode("fixture-curbs")
    later = next(v for v in mixed if v.id == "fixture-e-later")  # dated 2024-07-25
    assert not visible_on(later, date(2024, 7, 18), curbs)  # own episode: past `through`
    assert not visible_on(later, date(2024, 7, 24), None)
    assert visible_on(later, date(2024, 7, 25), None)
    early = next(v for v in mixed if v.id == "fixture-b-bear")  # dated 2024-07-18
    assert visible_on(early, date(2024, 7, 17), curbs)  # own episode: said two days later
    assert not visible_on(early, date(2024, 7, 17), None)  # not before it began


# --- the closest past episode ------------------------------------------------------------------


async def test_a_session_unlike_every_episode_shows_no_other_episodes_view(
    harness: Harness, mixed: ViewLibrary
) -> None:
    harness.services.views = mixed
    card = await harness.run("/shock SOX 2025-04-09")  # +18.74 %: no earlier episode like it
    assert card.text.startswith("No past episode looks like this move")
    speakers = {view.speaker for view in mixed}
    assert not any(name in card.text for name in speakers)
    assert "said about" not in card.text
    assert not any(field.name == "After the closest past episode" for field in card.fields)


async def test_shock_sox_2026_07_02_names_its_closest_earlier_episode(
    harness: Harness, mixed: ViewLibrary, shipped: ViewLibrary
) -> None:
    card = await harness.run("/shock SOX 2026-07-02")  # a deepseek-preset day, no episode
    assert "Closest past episode: the " in card.text
    assert "(Bullish; said about the " in card.text or "(Bearish; said about the " in card.text
    harness.services.views = mixed
    card = await harness.run("/shock SOX 2026-07-02")
    assert card.text.startswith("Closest past episode: the 2024-07-17 fixture curbs sell-off")
    after = next(f for f in card.closing if f.name == "After the closest past episode")
    assert after.value.startswith("SOX after the 2024-07-17 fixture curbs sell-off: next session")
    assert "20 sessions later" in after.value and after.value.count("\n") < 4


def test_the_closest_episode_shows_one_bullish_and_one_bearish_by_different_speakers(
    core: Core, mixed: ViewLibrary
) -> None:
    book = book_of(mixed, core)
    day = date(2026, 7, 2)
    past = explain_session(mixed, book, session=day, signature=book.session_signature(day))
    assert past.views is not None and past.closest is not None and past.closest.alike
    chosen = [match.view for match in past.views.chosen]
    assert {v.stance for v in chosen} == {"bullish", "bearish"}
    assert len({v.speaker for v in chosen}) == 2  # not Analyst A on both sides
    assert past.views.missing == ()
    assert all(len(view_block(m, "en")) <= 600 for m in past.views.chosen)


def test_a_missing_side_is_said_and_mixed_counts_for_neither(mixed: ViewLibrary) -> None:
    surge = mixed.episode("fixture-surge")
    found = card_views(mixed, session=date(2024, 1, 2), closest=surge, distance=1.0)
    assert found is not None and found.missing == ("bearish",)
    assert [m.view.stance for m in found.chosen] == ["bullish"]
    text = views_text(SessionPast(date(2024, 1, 2), found), "en")
    assert "No bearish view on file for this episode. Fixture: no bearish view on file." in text
    mixed_only = [v for v in mixed if v.stance == "mixed"]
    chosen, missing = pick_sides(mixed_only)
    assert missing == ("bullish", "bearish") and len(chosen) == 1


def test_what_chips_did_after_an_episode_stops_at_the_cards_session(
    core: Core, mixed: ViewLibrary
) -> None:
    book = book_of(mixed, core)
    curbs = mixed.episode("fixture-curbs")
    assert curbs is not None
    soon = book.chips_after(curbs, date(2024, 7, 23))  # the fifth session after is 07-24
    assert soon[1] is not None and soon[5] is None and soon[20] is None
    later = book.chips_after(curbs, date(2026, 7, 2))
    assert all(value is not None for value in later.values())


def test_signature_distance_is_in_typical_daily_moves_over_the_shared_symbols(
    core: Core, mixed: ViewLibrary
) -> None:
    book = book_of(mixed, core)
    deepseek = mixed.episode("deepseek")
    assert deepseek is not None
    own = book.episode_signature(deepseek)
    assert round(own["SOX"], 2) == -9.15 and round(own["NVDA"], 2) == -16.97
    assert book.distance(own, own) == 0.0
    assert book.distance({"SOX": -9.15}, own) is None  # too few moves to compare
    strict = SignatureBook(core.market, mixed.episodes, SignatureSettings(max_distance=0.5))
    closest = strict.closest(strict.session_signature(date(2026, 7, 2)), date(2026, 7, 2))
    assert closest is not None and not closest.alike and closest.limit == 0.5


async def test_shock_nvda_on_the_deepseek_day_shows_both_sides_by_different_people(
    harness: Harness,
) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    blocks = [b for b in card.text.split("\n\n") if "(Bullish)" in b or "(Bearish)" in b]
    assert len(blocks) == 2
    speakers = [block.split(" (")[0] for block in blocks]
    assert speakers[0] != speakers[1]
    assert card.text.startswith("DeepSeek shock (2025-01-27 – 2025-01-31): ")


async def test_an_alert_on_a_session_that_is_no_episode_names_the_closest_earlier_one(
    harness: Harness, mixed: ViewLibrary
) -> None:
    harness.services.views = mixed
    await harness.run("/subscribe alerts deepseek")
    [message] = await harness.replay_print("2026-07-02", "close")
    card = message.card
    assert card.text.startswith("Closest past episode: the 2024-07-17 fixture curbs sell-off")
    assert "Fixture Analyst" in card.text and "fixture-e-later" not in card.text
    after = next(f for f in card.closing if f.name == "After the closest past episode")
    assert "next session" in after.value


def test_a_digest_of_a_day_shows_no_view_said_after_it(
    core: Core, mixed: ViewLibrary, harness: Harness
) -> None:
    book = book_of(mixed, core)
    curbs = mixed.episode("fixture-curbs")
    assert curbs is not None
    closest = book.closest(book.episode_signature(curbs), date(2024, 7, 23))
    assert closest is not None and closest.episode is curbs
    services = harness.services
    services.views = mixed
    channel = Channel(ChannelRef("test", "w", "c"), language="en", timezone="Asia/Seoul")
    for day, shown in ((date(2024, 7, 23), False), (date(2024, 7, 26), True)):
        stored = past_payload(SessionPast(day, None, closest, book.chips_after(curbs, day)))
        payload = {"session": day.isoformat(), "past": stored, "kinds": ["chip_crash"]}
        card = build_digest_card(services, channel, payload, chart=False)
        assert "fixture curbs sell-off" in card.text
        assert ("Fixture Analyst E" in card.text) is shown, day


# --- the project's own figures -------------------------------------------------------------------


def test_a_card_shows_the_projects_figures_for_what_a_view_quotes(
    core: Core, shipped: ViewLibrary
) -> None:
    view = next(v for v in shipped if v.id == "kcif-selloff-after-stargate-peak")
    names = core.settings.figure_names
    found = quoted_figures(view, core.market, names, until=date(2025, 1, 27))
    line = figures_line(found, "en")
    assert line == (
        "In Sputnik's data: NVDA −16.97 % · AVGO −17.40 % · COMP −3.07 % · SOX −9.15 % "
        "(close Mon 27 Jan 2025)"
    )
    assert "17.0 %" in view.summary_en  # what the speaker said stays in the summary
    ko = figures_line(found, "ko")
    assert ko.startswith("스푸트니크 데이터: 엔비디아 −16.97 %") or "−16.97 %" in ko
    assert quoted_figures(view, core.market, names, until=date(2025, 1, 24)) == []


def test_a_view_block_keeps_the_speakers_figure_and_adds_the_projects(
    core: Core, shipped: ViewLibrary
) -> None:
    view = next(v for v in shipped if v.id == "kcif-breadth-and-rebound")
    names = core.settings.figure_names

    def figures(item: ExpertView) -> str:
        return figures_line(quoted_figures(item, core.market, names, until=date(2025, 1, 28)), "en")

    block = view_block(ViewMatch(view, True), "en", figures)
    assert "0.65 %" in block  # the report's Dow figure, as it said it
    assert "DJI +0.65 %" in block and "SPX −1.46 %" in block
    assert len(block) <= 600
