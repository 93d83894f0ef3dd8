"""Shock charts: PNG output, Hangul font, reader's colours, gaps."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.text import Annotation, Text

from bot.domain.chart import (
    FONT_FAMILY,
    UP_DOWN_COLOURS,
    ChartError,
    build_shock_figure,
    korean_font_path,
    register_korean_font,
    render_shock_chart,
)
from bot.domain.i18n import Locale
from tests.conftest import need_shared

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARKET = Path(__file__).resolve().parents[2] / "shared" / "data" / "market"
SHOCK = date(2025, 1, 27)

# Real closes around the DeepSeek day (investing-yahoo NVDA and ^SOX, yahoo-long DIA, adjusted).
_SESSIONS = pd.to_datetime(
    [
        *("2025-01-17", "2025-01-21", "2025-01-22", "2025-01-23", "2025-01-24"),
        *("2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31"),
    ]
)
_NVDA = [137.71, 140.83, 147.07, 147.22, 142.62, 118.42, 128.99, 123.70, 124.65, 120.07]
_SOX = [5309.7, 5378.5, 5469.3, 5444.7, 5341.9, 4853.2, 4907.0, 4918.1, 5030.5, 5015.9]
_DIA = [423.5649, 428.8069, 429.9567, 433.9514, 432.7238]
_DIA += [435.6468, 436.9037, 435.7053, 437.3032, 433.9612]

TITLES: dict[Locale, str] = {
    "ko": "엔비디아·반도체 급락, 다우는 상승 — 딥시크 충격",
    "en": "NVDA and chips crash while the Dow rises — the DeepSeek shock",
}
DOW: dict[Locale, str] = {"ko": "DIA (다우 대용)", "en": "DIA (Dow proxy)"}


def short_window(locale: Locale) -> dict[str, pd.Series]:
    return {
        "NVDA": pd.Series(_NVDA, index=_SESSIONS),
        "SOX": pd.Series(_SOX, index=_SESSIONS),
        DOW[locale]: pd.Series(_DIA, index=_SESSIONS),
    }


def _closes(path: Path) -> pd.Series:
    frame = pd.read_csv(path)
    return pd.Series(frame["close"].to_numpy(), index=pd.to_datetime(frame["date"].str[:10]))


def sixty_sessions(locale: Locale) -> dict[str, pd.Series]:
    """50 sessions up to the shock and 10 after, from the shared real history."""
    need_shared(MARKET, "the shared market history")
    shock = pd.Timestamp(SHOCK)

    def window(s: pd.Series) -> pd.Series:
        return pd.concat([s[s.index <= shock].iloc[-50:], s[s.index > shock].iloc[:10]])

    return {
        "NVDA": window(_closes(MARKET / "investing-yahoo" / "NVDA.csv")),
        "SOX": window(_closes(MARKET / "investing-yahoo" / "SOX.csv")),
        DOW[locale]: window(_closes(MARKET / "yahoo-long" / "DIA.csv")),
    }


def _legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def _render_quietly(series: dict[str, pd.Series], locale: Locale) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_shock_chart(
            series,
            shock_date=SHOCK,
            locale=locale,
            title=TITLES[locale],
            proxy_notes={DOW[locale]: "DIA ETF" if locale == "en" else "DIA ETF 수정주가"},
        )
    return png, [str(w.message) for w in caught]


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_chart_is_a_png_under_150_kb_in_both_locales(locale: Locale) -> None:
    png, _ = _render_quietly(sixty_sessions(locale), locale)
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < 150_000


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_rendering_emits_no_missing_glyph_warnings(locale: Locale) -> None:
    png, messages = _render_quietly(short_window(locale), locale)
    assert png.startswith(PNG_SIGNATURE)
    assert [m for m in messages if "missing from font" in m or "Glyph" in m] == []


def test_korean_text_is_set_in_the_nanum_font_shipped_by_koreanize_matplotlib() -> None:
    figure = build_shock_figure(
        short_window("ko"), shock_date=SHOCK, locale="ko", title=TITLES["ko"]
    )
    FigureCanvasAgg(figure).draw()
    ax = figure.axes[0]
    assert ax.get_title(loc="left") == TITLES["ko"]
    title = next(
        c for c in ax.get_children() if isinstance(c, Text) and c.get_text() == TITLES["ko"]
    )
    assert title.get_fontname() == FONT_FAMILY
    assert ax.get_ylabel() == "첫 거래일 = 100"
    assert ax.yaxis.label.get_fontname() == FONT_FAMILY
    assert {label.get_fontname() for label in ax.get_xticklabels()} == {FONT_FAMILY}
    found = Path(findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False))
    assert found.parent == korean_font_path().parent
    assert "koreanize_matplotlib" in str(found)


def test_registering_the_font_twice_is_harmless() -> None:
    assert register_korean_font() == register_korean_font() == FONT_FAMILY


def test_the_font_registers_and_renders_hangul_in_a_fresh_process(tmp_path: Path) -> None:
    script = f"""
import sys, warnings
from datetime import date
import pandas as pd
from matplotlib.font_manager import FontProperties, findfont
from bot.domain.chart import render_shock_chart
warnings.simplefilter("error")
idx = pd.to_datetime({[str(d.date()) for d in _SESSIONS]!r})
png = render_shock_chart({{"NVDA": pd.Series({_NVDA!r}, index=idx)}},
                         shock_date=date(2025, 1, 27), locale="ko", title="한글 제목 시험")
assert png.startswith(b"\\x89PNG")
print(findfont(FontProperties(family="NanumGothic"), fallback_to_default=False))
print("koreanize imported:", "koreanize_matplotlib" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={"MPLCONFIGDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "NanumGothic.ttf" in result.stdout
    assert "koreanize imported: False" in result.stdout
    assert "findfont" not in result.stderr


def test_rendering_leaves_matplotlib_global_settings_alone() -> None:
    before = dict(matplotlib.rcParams)
    render_shock_chart(short_window("en"), shock_date=SHOCK, locale="en", title="x")
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize(
    ("locale", "expected_text"),
    [("ko", "NVDA −16.97 %"), ("en", "NVDA −16.97 %")],
)
def test_the_subjects_shock_day_move_is_annotated_in_the_readers_down_colour(
    locale: Locale, expected_text: str
) -> None:
    figure = build_shock_figure(
        short_window(locale), shock_date=SHOCK, locale=locale, title=TITLES[locale]
    )
    ax = figure.axes[0]
    annotations = [c for c in ax.get_children() if isinstance(c, Annotation)]
    assert [a.get_text() for a in annotations] == [expected_text]
    up, down = UP_DOWN_COLOURS[locale]
    assert annotations[0].get_color() == down
    # up/down markers: NVDA and SOX fell (down colour), the Dow proxy rose (up colour)
    markers = [line for line in ax.get_lines() if line.get_marker() in ("^", "v")]
    assert [(m.get_marker(), m.get_color()) for m in markers] == [
        ("v", down),
        ("v", down),
        ("^", up),
    ]


def test_korean_readers_see_red_for_up_and_english_readers_green() -> None:
    assert UP_DOWN_COLOURS["ko"][0] == UP_DOWN_COLOURS["en"][1] == "#d62728"
    assert UP_DOWN_COLOURS["ko"][1].startswith("#1f")  # blue
    assert UP_DOWN_COLOURS["en"][0].startswith("#1a")  # green


def test_the_shock_session_is_marked_with_a_band_named_in_the_legend_not_over_a_line() -> None:
    figure = build_shock_figure(short_window("en"), shock_date=SHOCK, locale="en", title="x")
    ax = figure.axes[0]
    # no free-floating label that could sit on a line: only the subject's call-out
    assert [text.get_text() for text in ax.texts] == ["NVDA −16.97 %"]
    assert any(
        tick.get_text() == "27 Jan" and tick.get_position()[0] == 5 for tick in ax.get_xticklabels()
    )
    legend = _legend_texts(ax)
    assert legend == [
        "NVDA  −16.97 %",
        "SOX  −9.15 %",
        "DIA (Dow proxy)  +0.68 %",
        "up = green",
        "down = red",
        "Shock session Mon 27 Jan 2025",
    ]


@pytest.mark.parametrize(
    ("locale", "up_key", "down_key"),
    [("ko", "상승 = 빨강", "하락 = 파랑"), ("en", "up = green", "down = red")],
)
def test_the_legend_says_the_readers_up_and_down_colours(
    locale: Locale, up_key: str, down_key: str
) -> None:
    figure = build_shock_figure(short_window(locale), shock_date=SHOCK, locale=locale, title="x")
    legend = figure.axes[0].get_legend()
    assert legend is not None
    keys = {
        text.get_text(): handle
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    up, down = UP_DOWN_COLOURS[locale]
    assert keys[up_key].get_color() == up and keys[up_key].get_marker() == "^"
    assert keys[down_key].get_color() == down and keys[down_key].get_marker() == "v"


def test_a_shock_date_on_a_closed_day_marks_the_next_session() -> None:
    figure = build_shock_figure(
        short_window("ko"), shock_date=date(2025, 1, 25), locale="ko", title="x"
    )
    assert _legend_texts(figure.axes[0])[-1] == "충격일 2025년 1월 27일 (월)"


def test_nan_gaps_missing_rows_and_an_empty_series_still_render() -> None:
    series = short_window("en")
    series["NVDA"] = series["NVDA"].copy()
    series["NVDA"].iloc[[0, 2]] = np.nan
    series["SOX"] = series["SOX"].drop(series["SOX"].index[7:9])
    series["XYZ"] = pd.Series(np.nan, index=_SESSIONS)
    png, messages = _render_quietly(series, "en")
    assert png.startswith(PNG_SIGNATURE)
    assert messages == []
    figure = build_shock_figure(series, shock_date=SHOCK, locale="en", title="x")
    legend = _legend_texts(figure.axes[0])
    assert not any(text.startswith("XYZ") for text in legend)  # a series without data is left out
    nvda_line = figure.axes[0].get_lines()[0]
    assert np.asarray(nvda_line.get_ydata())[0] == pytest.approx(
        100.0
    )  # rebased at its first valid close


def test_a_missing_previous_session_leaves_the_move_unannotated_and_shown_as_na() -> None:
    series = {
        "NVDA": pd.Series(_NVDA, index=_SESSIONS).drop(_SESSIONS[4]),  # no 01-24 close
        "SOX": pd.Series(_SOX, index=_SESSIONS),
    }
    figure = build_shock_figure(series, shock_date=SHOCK, locale="en", title="x")
    annotations = [c for c in figure.axes[0].get_children() if isinstance(c, Annotation)]
    assert annotations == []
    assert _legend_texts(figure.axes[0])[0] == "NVDA  n/a"


def test_no_usable_series_is_a_chart_error() -> None:
    with pytest.raises(ChartError):
        render_shock_chart({}, shock_date=SHOCK, locale="en", title="x")
    with pytest.raises(ChartError):
        render_shock_chart(
            {"NVDA": pd.Series(np.nan, index=_SESSIONS)}, shock_date=SHOCK, locale="en", title="x"
        )


def test_proxy_notes_appear_as_a_footnote() -> None:
    figure = build_shock_figure(
        short_window("en"),
        shock_date=SHOCK,
        locale="en",
        title="x",
        proxy_notes={"DIA (Dow proxy)": "ETF standing in for the Dow"},
    )
    assert [t.get_text() for t in figure.texts] == ["DIA (Dow proxy): ETF standing in for the Dow"]


def test_the_legend_shows_the_cards_figures_and_nothing_where_the_card_has_none() -> None:
    moves = {"NVDA": None, "SOX": -9.15, DOW["en"]: 0.68}
    figure = build_shock_figure(
        short_window("en"), shock_date=SHOCK, locale="en", title="x", moves=moves
    )
    legend = _legend_texts(figure.axes[0])
    assert legend[:3] == ["NVDA", "SOX  −9.15 %", "DIA (Dow proxy)  +0.68 %"]
    annotations = [c for c in figure.axes[0].get_children() if isinstance(c, Annotation)]
    assert annotations == []  # no call-out of a move the card calls unavailable
