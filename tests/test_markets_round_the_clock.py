"""/shock and /quote for every market (issue 18 items 2 and 5): Tokyo compared with the Nikkei
and followed into New York; New York preceded by the night's overseas moves with their
times; /quote grouped by market, saying which trade now — in Korean and English."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.alert_card import market_time
from bot.domain.cards import Card
from bot.domain.i18n import Locale
from bot.harness import Harness
from bot.services import Core

DEEPSEEK_MONDAY = "2025-01-27"


def fields_of(card: Card) -> dict[str, str]:
    return {field.name: field.value for field in card.fields + card.closing}


@contextlib.asynccontextmanager
async def started(
    core: Core, folder: Path, locale: Locale = "en", now: datetime | None = None
) -> AsyncIterator[Harness]:
    """A harness in `locale` on a store of its own (its clock at `now`)."""
    bot = await Harness.start(core, f"sqlite:///{folder / f'{locale}.db'}", locale, now=now)
    try:
        yield bot
    finally:
        await bot.close()


@pytest.fixture
async def english(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(core, tmp_path) as bot:
        yield bot


@pytest.fixture
async def korean(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(core, tmp_path, "ko") as bot:
        yield bot


async def test_advantest_on_the_deepseek_monday_is_compared_with_the_nikkei(
    english: Harness,
) -> None:
    card = await english.run(f"/shock ADVANTEST {DEEPSEEK_MONDAY}")
    fields = fields_of(card)
    assert card.title == "ADVANTEST shock · Mon 27 Jan 2025"
    assert fields["Move"] == "−8.61 %"
    assert fields["Next to the indices (proxies named)"].splitlines() == [
        "ADVANTEST −8.61 % · gap −4.43 % · z −2.5 · vs N225 −7.69 pp",
        "N225 −0.92 % · gap +0.49 % · z −0.8",
    ]
    assert card.footer.source == "Shipped price history (6857.T, ^N225)"


async def test_advantest_shows_what_new_york_did_in_the_session_that_followed(
    english: Harness,
) -> None:
    fields = fields_of(await english.run(f"/shock ADVANTEST {DEEPSEEK_MONDAY}"))
    assert fields["New York in the session that followed (Mon 27 Jan 2025)"] == (
        "SOX −9.15 % · SPX −1.46 % · COMP −3.07 % · DJI +0.65 %"
    )
    # Tokyo's close, on the channel's clock (UTC here) and on Tokyo's own.
    assert fields["Print"] == "close · Mon 27 Jan 2025 06:30 UTC · TSE 15:30 JST"


async def test_nvda_lists_the_overseas_moves_before_new_yorks_open_with_their_times(
    english: Harness,
) -> None:
    fields = fields_of(await english.run(f"/shock NVDA {DEEPSEEK_MONDAY}"))
    assert fields["Overseas before New York's open (09:30 ET)"].splitlines() == [
        "CME open Sun 17:00 CST (Sun 18:00 ET): NQ −0.64 % · ES −0.51 % · YM −0.28 % · RTY −0.53 %",
        "TSE close 15:30 JST (01:30 ET): N225 −0.92 % · TEL −4.90 % · ADVANTEST −8.61 %"
        " · SOFTBANK −8.32 %",
        "Euronext open 09:00 CET (03:00 ET): ASML_AS −7.66 % · SX5E −0.12 % · DAX −0.90 %",
        "KRX closed — next open Fri 31 Jan 2025 09:00 KST",  # Seollal
    ]
    assert fields["Print"] == "close · Mon 27 Jan 2025 21:00 UTC · NYSE 16:00 ET"


async def test_a_korean_trader_reads_advantest_and_new_york_after_it_in_korean(
    korean: Harness,
) -> None:
    card = await korean.run(f"/shock 어드반테스트 {DEEPSEEK_MONDAY}")
    fields = fields_of(card)
    assert card.title == "어드반테스트 충격 분석 · 2025년 1월 27일 (월)"
    assert fields["지수와 비교 (대용 표시)"].splitlines()[0] == (
        "어드반테스트 −8.61 % · 갭 −4.43 % · z −2.5 · 닛케이225 대비 −7.69 %p"
    )
    assert fields["이어진 뉴욕 거래일 (2025년 1월 27일 (월))"].startswith("SOX −9.15 %")
    assert fields["시점"] == "종가 · 2025년 1월 27일 (월) 15:30 KST · TSE 15:30 JST"


async def test_a_korean_trader_sees_the_night_before_new_york_in_korean(korean: Harness) -> None:
    fields = fields_of(await korean.run(f"/shock 엔비디아 {DEEPSEEK_MONDAY}"))
    lines = fields["뉴욕 개장(09:30 ET) 전 해외 시장"].splitlines()
    assert lines[0] == (
        "CME 시가 (일) 17:00 CST ((일) 18:00 ET): 나스닥100 선물 −0.64 % · S&P500 선물 −0.51 %"
        " · 다우 선물 −0.28 % · 러셀2000 선물 −0.53 %"
    )
    assert lines[1].startswith("TSE 종가 15:30 JST (01:30 ET): 닛케이225 −0.92 %")
    assert lines[3] == "KRX 휴장 — 다음 개장 2025년 1월 31일 (금) 09:00 KST"


@pytest.mark.parametrize(
    ("line", "subject"),
    [
        ("/shock 8035.T", "8035.T"),
        ("/shock TEL 2025-01-27", "TEL"),
        ("/shock 어드반테스트", "ADVANTEST"),
        ("/shock ASML.AS 2025-01-27", "ASML.AS"),
        ("/shock ASML_AS", "ASML_AS"),
        ("/shock NQ 2025-01-27", "NQ"),
        ("/shock KOSPI 2025-01-31", "KOSPI"),
    ],
)
async def test_shock_works_for_the_symbols_aliases_and_korean_names_of_every_market(
    english: Harness, line: str, subject: str
) -> None:
    card = await english.run(line)
    assert card.title.startswith(subject)
    assert fields_of(card)["Move"].endswith("%")


async def test_an_overseas_shock_judges_its_own_markets_presets_on_its_own_session(
    english: Harness,
) -> None:
    tokyo = fields_of(await english.run(f"/shock ADVANTEST {DEEPSEEK_MONDAY}"))
    assert tokyo["Presets on ADVANTEST"].startswith("• tokyo_deepseek [warning]")
    amsterdam = fields_of(await english.run(f"/shock ASML_AS {DEEPSEEK_MONDAY}"))
    fired = [line.split(" ")[1] for line in amsterdam["Presets on ASML_AS"].splitlines()]
    assert fired == ["europe_deepseek", "europe_chip_crash"]
    # New York's presets still read the US session behind Tokyo's Monday (Friday's).
    assert not any(
        "deepseek" in line and "tokyo" not in line
        for line in tokyo["Presets on ADVANTEST"].splitlines()
    )


async def test_asml_in_amsterdam_is_compared_with_the_euro_stoxx_and_the_dax(
    english: Harness,
) -> None:
    fields = fields_of(await english.run(f"/shock ASML_AS {DEEPSEEK_MONDAY}"))
    rows = fields["Next to the indices (proxies named)"].splitlines()
    assert rows[0].startswith("ASML_AS −7.01 %")
    assert [row.split(" ")[0] for row in rows[1:]] == ["SX5E", "DAX"]
    assert fields["Print"] == "close · Mon 27 Jan 2025 16:30 UTC · Euronext 17:30 CET"


async def test_quote_without_symbols_groups_the_markets_and_says_which_trade_now(
    core: Core, tmp_path: Path
) -> None:
    tokyo_morning = datetime(2025, 1, 27, 1, 0, tzinfo=UTC)  # 10:00 JST; Seollal in Seoul
    async with started(core, tmp_path, now=tokyo_morning) as bot:
        card = await bot.run("/quote")
    titles = [field.name for field in card.fields]
    assert card.title == "Quotes by market"
    assert titles == [
        "NYSE — closed, opens Mon 27 Jan 2025 09:30 EST",
        "KRX — closed, opens Fri 31 Jan 2025 09:00 KST",
        "TSE — open now",
        "Euronext — closed, opens Mon 27 Jan 2025 09:00 CET",
        "CME — open now",
    ]
    tokyo = card.fields[2].value.splitlines()
    assert [line.split(" ")[0] for line in tokyo] == ["N225", "TEL", "ADVANTEST", "SOFTBANK"]


async def test_quote_in_korean_names_tokyos_lunch_break(core: Core, tmp_path: Path) -> None:
    lunch = datetime(2025, 1, 28, 2, 45, tzinfo=UTC)  # 11:45 JST
    async with started(core, tmp_path, "ko", now=lunch) as bot:
        card = await bot.run("/quote")
    assert card.title == "시장별 시세"
    assert "TSE — 지금 점심 휴장 중" in [field.name for field in card.fields]
    korea = next(field for field in card.fields if field.name.startswith("KRX"))
    assert korea.value.splitlines()[0].startswith("코스피 ")


def test_a_print_names_its_market_and_local_time_next_to_the_channels() -> None:
    tokyo_close = datetime(2025, 1, 27, 6, 30, tzinfo=UTC)
    seoul, new_york = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
    assert market_time(tokyo_close, "6857.T", "ko", seoul) == (
        "2025년 1월 27일 (월) 15:30 KST · TSE 15:30 JST"
    )
    assert market_time(tokyo_close, "6857.T", "en", new_york) == (
        "Mon 27 Jan 2025 01:30 EST · TSE 15:30 JST"
    )
    globex_opens = datetime(2025, 1, 26, 23, 0, tzinfo=UTC)
    assert market_time(globex_opens, "NQ=F", "en", new_york) == (
        "Sun 26 Jan 2025 18:00 EST · CME 17:00 CST"
    )
    amsterdam_opens = datetime(2025, 1, 27, 8, 0, tzinfo=UTC)
    assert market_time(amsterdam_opens, "ASML.AS", "en", new_york) == (
        "Mon 27 Jan 2025 03:00 EST · Euronext 09:00 CET"
    )
    assert (
        market_time(amsterdam_opens, "NVDA", "en", new_york) == "Mon 27 Jan 2025 03:00 EST · NYSE"
    )


async def test_nasdaq_futures_close_at_five_new_york_time_before_the_maintenance_halt(
    english: Harness,
) -> None:
    fields = fields_of(await english.run(f"/shock NQ {DEEPSEEK_MONDAY}"))
    assert fields["Move"] == "−2.98 %"  # the bar's close at 17:00 ET, against Friday's
    assert fields["Print"] == "close · Mon 27 Jan 2025 22:00 UTC · CME 16:00 CST"
    assert fields["New York in the session that followed (Tue 28 Jan 2025)"].startswith("SOX")


async def test_the_night_before_lists_only_what_the_history_holds(english: Harness) -> None:
    lines = fields_of(await english.run("/shock NVDA 2024-11-05"))[
        "Overseas before New York's open (09:30 ET)"
    ].splitlines()
    assert lines[1] == "KRX close 15:30 KST (01:30 ET): KOSPI −0.47 % · HYNIX −0.41 %"  # no Samsung
    before = fields_of(await english.run("/shock NVDA 2020-03-16"))
    night = before["Overseas before New York's open (09:30 ET)"].splitlines()
    assert [line.split(" ")[0] for line in night] == ["CME", "Euronext"]  # no Tokyo, no Seoul
    assert night[1] == "Euronext open 09:00 CET (04:00 ET): SX5E −1.09 % · DAX −5.45 %"


async def test_tokyo_closed_at_three_before_2024_11_05_and_at_half_past_three_since(
    english: Harness,
) -> None:
    title = "Overseas before New York's open (09:30 ET)"
    before = fields_of(await english.run("/shock NVDA 2024-11-01"))[title].splitlines()
    since = fields_of(await english.run("/shock NVDA 2024-11-05"))[title].splitlines()
    assert before[1].startswith("TSE close 15:00 JST (02:00 ET): N225 −2.63 %")
    assert since[2].startswith("TSE close 15:30 JST (01:30 ET): N225 +1.11 %")
