"""Figures on a card are the project's: where a view quotes a move or a close that the shipped
history also has, the card shows the project's figure beside the view.

A view's ``key_figures`` are read for signed moves (``Nvidia −17.0 %``, ``(SOX) −9.1 %``) and
closes (``closed at $196.40``) next to a name the config knows (``[figure_names]``:
Nvidia → NVDA, Nasdaq → COMP …), on the date the figure names (else the episode's first
session). Only sessions on or before the card's own session are looked up (no figure from
the future). The view's summary keeps its own figures: what the speaker said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.i18n import Locale, format_date, format_number, format_pct, t
from bot.domain.market import MarketData
from bot.domain.markets import primary_market
from bot.domain.snapshot import Resolved
from bot.domain.symbols import UnknownSymbolError
from bot.domain.views import ExpertView

_MOVE = re.compile(r"([+\-−–]\s?\d+(?:\.\d+)?)\s?%")
_CLOSE = re.compile(r"clos(?:ed|e|ing) (?:at|of) \$?(\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


@dataclass(frozen=True)
class QuotedFigure:
    """A figure a view quotes, and the project's own figure for it."""

    name: str
    """The name as the view wrote it (Nvidia)."""
    session: date
    metric: str
    """`pct` or `close`."""
    project: Resolved


def quoted_figures(
    view: ExpertView,
    market: MarketData,
    names: Mapping[str, str],
    *,
    until: date,
) -> list[QuotedFigure]:
    """The figures of ``view`` the project's data also has, with the project's values, for
    sessions on or before ``until``; each (instrument, session, metric) once."""
    default = view.episode.first_session if view.episode else view.date
    found: dict[tuple[str, date, str], QuotedFigure] = {}
    for figure in view.key_figures:
        dated = _DATE.search(figure)
        session = date.fromisoformat(dated.group(1)) if dated else default
        if session > until:
            continue
        for clause in re.split(r"[,;]", figure):
            for pattern, metric in ((_MOVE, "pct"), (_CLOSE, "close")):
                for match in pattern.finditer(clause):
                    name = _name_before(clause[: match.start()], names)
                    if name is None:
                        continue
                    quoted = _project(market, names[name], name, session, metric)
                    if quoted is not None:
                        key = (quoted.project.instrument.key, session, metric)
                        found.setdefault(key, quoted)
    return list(found.values())


def _name_before(text: str, names: Mapping[str, str]) -> str | None:
    """The configured name that ends nearest to the end of ``text`` (case-insensitive)."""
    lowered = text.lower()
    best: tuple[int, int, str] | None = None
    for name in names:
        position = lowered.rfind(name.lower())
        if position >= 0:
            candidate = (position + len(name), len(name), name)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None


def _project(
    market: MarketData, alias: str, name: str, session: date, metric: str
) -> QuotedFigure | None:
    try:
        instrument = market.symbols.resolve(alias)
    except UnknownSymbolError:
        return None
    stamp = pd.Timestamp(session)
    if not session_calendar(primary_market().calendar).is_session(stamp):
        return None
    read = market.snapshot(stamp, "close").read(instrument, "pct" if metric == "pct" else "last")
    if read.number is None:
        return None
    return QuotedFigure(name, session, metric, read)


def figures_line(figures: list[QuotedFigure], locale: Locale) -> str:
    """`In Sputnik's data: NVDA −16.97 % · AVGO −17.40 % (close 2025-01-27)` ("" if none)."""
    if not figures:
        return ""
    by_day: dict[date, list[str]] = {}
    for figure in figures:
        read = figure.project
        label = read.instrument.display(locale)
        if read.via_proxy:
            label = t("common.proxy", locale, index=label, symbol=read.symbol)
        value = read.number
        assert value is not None
        shown = (
            format_pct(value, locale) if figure.metric == "pct" else format_number(value, locale)
        )
        by_day.setdefault(figure.session, []).append(f"{label} {shown}")
    parts = [
        t(
            "views.project_figures_day",
            locale,
            figures=" · ".join(items),
            date=format_date(day, locale),
        )
        for day, items in sorted(by_day.items())
    ]
    return t("views.project_figures", locale, figures="; ".join(parts))
