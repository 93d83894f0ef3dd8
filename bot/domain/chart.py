"""Shock charts: subject, SOX and a Dow proxy rebased to 100, the shock session marked; PNG.

Rendering uses a fresh ``matplotlib.figure.Figure`` on the Agg canvas per call (no pyplot, no global
rcParams), so calls never leak state into each other and may run in a worker thread. Hangul comes
from the NanumGothic font bundled by the koreanize-matplotlib package, registered once per process
without importing that package (its import restyles matplotlib globally); glyphs Nanum lacks (the
U+2212 minus) fall back to DejaVu Sans, which ships with matplotlib.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import math
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType

import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.domain.i18n import Locale, format_date, format_pct, format_short_date, t

FONT_FAMILY = "NanumGothic"
FONT_STACK: tuple[str, ...] = (FONT_FAMILY, "DejaVu Sans")
_FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")

# Reader's convention for up/down: Korean red-up/blue-down, English green-up/red-down.
UP_DOWN_COLOURS: Mapping[Locale, tuple[str, str]] = MappingProxyType(
    {"ko": ("#d62728", "#1f5fbf"), "en": ("#1a9641", "#d62728")}
)
# Line colours stay clear of the up/down colours: near-black subject, amber, grey, violet, teal.
_LINE_COLOURS = ("#1b1b1b", "#e08a00", "#8a8a8a", "#8e44ad", "#16a085")
_SHOCK_BAND = "#f2c94c"
_NO_NOTES: Mapping[str, str] = MappingProxyType({})


class ChartError(ValueError):
    """The series given cannot make a chart (none, or all empty)."""


@cache
def korean_font_path() -> Path:
    """NanumGothic.ttf from the installed koreanize-matplotlib (found without importing it)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ChartError("koreanize-matplotlib is not installed: no Hangul font for charts")
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return fonts / _FONT_FILES[0]


@cache
def register_korean_font() -> str:
    """Register the Nanum fonts with matplotlib's font manager once; returns the family name."""
    fonts_dir = korean_font_path().parent
    manager = font_manager.fontManager
    for name in _FONT_FILES:
        path = str(fonts_dir / name)
        manager.addfont(path)
        if "Bold" in name:
            # The file declares weight 600; file it under 700 so "bold" matches Nanum and the
            # DejaVu fallback alike (otherwise findfont logs a weight-mismatch warning per call).
            for position, entry in enumerate(manager.ttflist):
                if entry.fname == path:
                    manager.ttflist[position] = dataclasses.replace(entry, weight=700)
    return FONT_FAMILY


def render_shock_chart(
    series: Mapping[str, pd.Series],
    *,
    shock_date: date,
    locale: Locale,
    title: str,
    proxy_notes: Mapping[str, str] = _NO_NOTES,
    moves: Mapping[str, float | None] | None = None,
) -> bytes:
    """PNG of daily closes rebased to 100 at the first shown session, the shock session marked.

    ``series`` maps a label to closes indexed by session date; the first is the subject (drawn
    boldest, its shock-day move annotated). ``proxy_notes`` adds a footnote per label, e.g.
    ``{"DIA (Dow proxy)": "ETF standing in for the Dow"}``. ``moves`` gives the figures the
    card shows per label (the legend and the call-out show those, nothing where a label's
    figure is None or missing); without it the moves are computed from the closes.
    """
    figure = build_shock_figure(
        series,
        shock_date=shock_date,
        locale=locale,
        title=title,
        proxy_notes=proxy_notes,
        moves=moves,
    )
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.12)
    return buffer.getvalue()


def build_shock_figure(
    series: Mapping[str, pd.Series],
    *,
    shock_date: date,
    locale: Locale,
    title: str,
    proxy_notes: Mapping[str, str] = _NO_NOTES,
    moves: Mapping[str, float | None] | None = None,
) -> Figure:
    """The chart as a matplotlib Figure (``render_shock_chart`` draws it to PNG)."""
    register_korean_font()
    frame = _aligned_closes(series)
    sessions = list(frame.index)
    shock_pos = _shock_position(frame.index, shock_date)
    up, down = UP_DOWN_COLOURS[locale]

    figure = Figure(figsize=(8, 4.5), dpi=100)
    bottom = 0.15 if proxy_notes else 0.11
    figure.subplots_adjust(left=0.075, right=0.985, top=0.91, bottom=bottom)
    ax = figure.add_subplot()
    ax.tick_params(labelfontfamily=list(FONT_STACK), labelsize=9, colors="#444444")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_title(title, fontfamily=FONT_STACK, fontsize=13, fontweight="bold", loc="left")
    ax.set_ylabel(t("chart.rebased_axis", locale), fontfamily=FONT_STACK, fontsize=9)

    for index, label in enumerate(frame.columns):
        closes = frame[label]
        colour = _LINE_COLOURS[index % len(_LINE_COLOURS)]
        move = _session_move(closes, shock_pos) if moves is None else moves.get(label)
        legend = str(label)
        if shock_pos is not None and (move is not None or moves is None):
            legend = f"{label}  {format_pct(move, locale)}"
        rebased = _rebased(closes)
        valid = rebased.dropna()
        ax.plot(
            frame.index.get_indexer(valid.index),
            valid.to_numpy(),
            color=colour,
            lw=2.2 if index == 0 else 1.5,
            label=legend,
            zorder=3 if index == 0 else 2,
        )
        if shock_pos is not None and move is not None and not math.isnan(rebased.iloc[shock_pos]):
            ax.plot(
                [shock_pos],
                [rebased.iloc[shock_pos]],
                marker="^" if move >= 0 else "v",
                color=up if move >= 0 else down,
                markersize=8 if index == 0 else 6,
                zorder=4,
                linestyle="none",
            )
            if index == 0:
                _annotate_move(
                    ax, label, move, shock_pos, rebased, locale, up if move >= 0 else down
                )

    if shock_pos is not None:
        # The band is named in the legend, where it can never sit on top of a line.
        marked = sessions[shock_pos].date()  # the shock session itself, if shock_date was closed
        shock_label = f"{t('chart.shock_session', locale)} {format_date(marked, locale)}"
        ax.axvspan(
            shock_pos - 0.5,
            shock_pos + 0.5,
            color=_SHOCK_BAND,
            alpha=0.45,
            lw=0,
            zorder=0,
            label=shock_label,
        )

    _set_session_ticks(ax, sessions, shock_pos, locale)
    ax.set_xlim(-0.8, len(sessions) - 0.2)
    # Beside the plot, so the key never hides a line (the PNG is cropped to fit it).
    # The series, then the reader's up/down convention (Korean red up, English green up),
    # then the shock band: the key says what the markers' colours mean.
    handles, labels = ax.get_legend_handles_labels()
    band = [i for i, handle in enumerate(handles) if not isinstance(handle, Line2D)]
    convention = [
        Line2D([], [], marker=marker, color=colour, linestyle="none")
        for marker, colour in (("^", up), ("v", down))
    ]
    split = band[0] if band else len(handles)
    handles[split:split] = convention
    labels[split:split] = [t("chart.up", locale), t("chart.down", locale)]
    key = ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        frameon=True,
        framealpha=0.9,
        prop={"family": list(FONT_STACK), "size": 9},
    )
    key.get_frame().set_facecolor("white")
    key.get_frame().set_edgecolor("#dddddd")
    notes = [t("chart.proxy_note", locale, symbol=k, note=v) for k, v in proxy_notes.items()]
    if notes:
        figure.text(
            0.01, 0.015, " · ".join(notes), fontsize=7.5, color="#666666", fontfamily=FONT_STACK
        )
    return figure


def _aligned_closes(series: Mapping[str, pd.Series]) -> pd.DataFrame:
    """All series on one sorted session index (outer join); NaN where a series has no close."""
    if not series:
        raise ChartError("no series to chart")
    columns = {}
    for label, closes in series.items():
        values = pd.to_numeric(closes, errors="coerce").astype(float)
        values.index = pd.DatetimeIndex(values.index).normalize()
        columns[label] = values[~values.index.duplicated(keep="last")]
    frame = pd.DataFrame(columns).sort_index()
    frame = frame.loc[:, frame.notna().any(axis=0)]  # a series without data is left out
    frame = frame[frame.notna().any(axis=1)]
    if frame.empty:
        raise ChartError("every series is empty")
    return frame


def _rebased(closes: pd.Series) -> pd.Series:
    """Closes scaled so the first valid close is 100."""
    valid = closes.dropna()
    if valid.empty or valid.iloc[0] == 0:
        return closes * math.nan
    return closes / valid.iloc[0] * 100.0


def _shock_position(index: pd.Index, shock_date: date) -> int | None:
    """Position of the shock session, or of the first session after it if it was not a session."""
    later = [pos for pos, ts in enumerate(index) if ts.date() >= shock_date]
    return later[0] if later else None


def _session_move(closes: pd.Series, shock_pos: int | None) -> float | None:
    """Percent change from the previous session's close to the shock session's close."""
    if shock_pos is None or shock_pos == 0:
        return None
    now, before = closes.iloc[shock_pos], closes.iloc[shock_pos - 1]
    if math.isnan(now) or math.isnan(before) or before == 0:
        return None
    return float((now / before - 1.0) * 100.0)


def _annotate_move(
    ax: Axes,
    label: str,
    move: float,
    shock_pos: int,
    rebased: pd.Series,
    locale: Locale,
    colour: str,
) -> None:
    """Call out the subject's shock-day move beside its point, in the reader's up/down colour."""
    y = float(rebased.iloc[shock_pos])
    text = t("chart.shock_move", locale, symbol=label.split(" ")[0], move=format_pct(move, locale))
    ax.annotate(
        text,
        xy=(shock_pos, y),
        xytext=(-16, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        fontsize=11,
        fontweight="bold",
        fontfamily=FONT_STACK,
        color=colour,
        arrowprops={"arrowstyle": "-", "color": colour, "lw": 1.0},
        zorder=5,
    )


def _set_session_ticks(
    ax: Axes, sessions: Sequence[pd.Timestamp], shock_pos: int | None, locale: Locale
) -> None:
    """About eight date ticks on session positions, always including the shock session."""
    step = max(1, math.ceil(len(sessions) / 8))
    ticks = set(range(0, len(sessions), step))
    if shock_pos is not None:
        ticks = {p for p in ticks if abs(p - shock_pos) >= max(2, step / 2)} | {shock_pos}
    ordered = sorted(ticks)
    ax.set_xticks(ordered, [format_short_date(sessions[p].date(), locale) for p in ordered])
    years = sorted({ts.year for ts in sessions})
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    ax.set_xlabel(f"{t('chart.session_axis', locale)} ({span})", fontfamily=FONT_STACK, fontsize=9)
