"""A Korean channel reads a refused rule, and every severity mark, entirely in Korean."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.text import render_text
from bot.domain.cards import Card, Footer, Severity
from bot.harness import Harness
from bot.services import Core


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


async def test_a_bad_rule_is_explained_in_korean_with_its_column_and_suggestion(
    harness: Harness,
) -> None:
    await harness.run("/lang ko")
    card = await harness.run('/rules test "SOXY.pct < 1"')
    assert card.severity is Severity.ERROR
    assert card.text == (
        "규칙을 이해하지 못했습니다: 알 수 없는 종목: 'SOXY' (1번째 글자)"
        " — 비슷한 종목: SOX 또는 SOXX"
    )
    shown = render_text(card, "ko")
    assert shown.startswith("━━ [오류] ")
    assert set(re.findall(r"[A-Za-z]+", shown)) <= {"SOXY", "SOX", "SOXX", "pct"}


async def test_a_bad_rule_in_english_keeps_the_english_reason(harness: Harness) -> None:
    card = await harness.run('/subscribe alerts "SOXY.pct<=-7"')
    assert card.text == (
        "Couldn't understand the rule: unknown symbol 'SOXY' at column 1"
        " — did you mean SOX or SOXX?"
    )


@pytest.mark.parametrize(
    ("severity", "korean", "english"),
    [
        (Severity.INFO, "━━ 제목 ━━", "━━ 제목 ━━"),
        (Severity.NOTICE, "━━ [주의] 제목 ━━", "━━ [notice] 제목 ━━"),
        (Severity.WARNING, "━━ [경고] 제목 ━━", "━━ [WARNING] 제목 ━━"),
        (Severity.CRITICAL, "━━ [심각] 제목 ━━", "━━ [CRITICAL] 제목 ━━"),
        (Severity.ERROR, "━━ [오류] 제목 ━━", "━━ [!] 제목 ━━"),
    ],
)
def test_severity_marks_follow_the_channels_language(
    severity: Severity, korean: str, english: str
) -> None:
    card = Card(title="제목", severity=severity, footer=Footer())
    assert render_text(card, "ko").splitlines()[0] == korean
    assert render_text(card, "en").splitlines()[0] == english
