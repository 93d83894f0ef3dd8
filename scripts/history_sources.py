"""Readers for the round-the-clock records (CME futures, Tokyo, Amsterdam, Seoul, the US
index files) that `build_history.py` normalises into `data/history/`.

Each reader returns rows `(date, open, high, low, close, adj_close, volume)` from one source.
Known defects are dropped here with a logged warning (`log`) and returned as `(date, why)`
pairs, so the provenance README lists them. Splices check the overlap of their two sources
and fail the build when they disagree.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("build_history")

Row = tuple[str, float | None, float | None, float | None, float | None, float | None, float | None]
Dropped = list[tuple[str, str]]


@dataclass
class Series:
    """One output file in the making."""

    symbol: str
    rows: list[Row]
    origin: str
    repo: str
    levels: str
    notes: list[str] = field(default_factory=list)
    dropped: Dropped = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


GLOBAL = "yahoo-futures-global"
FUTURES_PROVISIONAL = "2026-02-23"
"""The futures files' last row, written 16:31-16:37 ET before the 17:00 ET close."""
HYNIX_SPLICE = "2025-01-22"
"""SK hynix: the Leontin7/Stage excerpt before this date, amars78/workflows from it on."""
GSPC_EXCERPT_FROM = "2025-01-13"
"""^GSPC: the laimanto/bull-bear-monitor OHLCV excerpt from this date on."""
IXIC_EXCERPT_FROM = "2025-02-21"
"""^IXIC: the swhunag65221-pixel/joe_TWbackdraw excerpt from this date on (after the JSON)."""

# Rows a source's own README lists as defects: dropped, never used.
KNOWN_DEFECTS: dict[str, dict[str, str]] = {
    **{
        s: {"2025-07-13": "Sunday stub row"}
        for s in ("NQ=F", "ES=F", "YM=F", "RTY=F", "JPY=X")
    },
    "^STOXX50E": {
        d: "stub row (open/high/low = 0)" for d in ("2025-08-11", "2025-08-12", "2025-09-01")
    },
    "^KS11": {"2024-09-12": "stub row (open = high = low = close, volume 0)"},
}  # fmt: skip


def num(text: str) -> float | None:
    """A source cell as a float, None when empty."""
    text = text.strip()
    return None if text == "" else float(text)


def _row(cells: dict[str, str]) -> Row:
    """A row from OHLCV cells keyed by lower-case name, in any column order (adj_close =
    close: these sources carry one price series). A volume of 0 is unknown (empty)."""
    close = num(cells["close"])
    volume = num(cells.get("volume", ""))
    return (
        cells["date"][:10],
        num(cells["open"]),
        num(cells["high"]),
        num(cells["low"]),
        close,
        close,
        volume if volume else None,
    )


def read_csv(path: Path, header_lines: int = 1) -> list[Row]:
    """A Yahoo-style CSV with a one-line header (any column order, CRLF or LF), or a raw
    yfinance file with a 3-line header (`Price,…` / `Ticker,…` / `Date,…` or `,,,`) whose
    first column holds the dates."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    names = [c.strip().lower() for c in lines[0]]
    if header_lines == 3:
        assert names[0] == "price" and lines[1][0] == "Ticker", path
        names[0] = "date"
    return [_row(dict(zip(names, cells, strict=True))) for cells in lines[header_lines:]]


def drop_defects(symbol: str, rows: list[Row], dropped: Dropped) -> list[Row]:
    """Drop the source's listed defect rows and zero-volume fills (a flat row equal to the
    previous close, volume 0 or none: a closed day filled with the last price); log each."""
    listed = KNOWN_DEFECTS.get(symbol, {})
    kept: list[Row] = []
    for row in rows:
        why = listed.get(row[0])
        prev = kept[-1] if kept else None
        flat = row[1] == row[2] == row[3] == row[4]
        if why is None and prev is not None and flat and row[4] == prev[4] and not row[6]:
            why = "zero-volume fill (open = high = low = close = the previous close)"
        if why is None:
            kept.append(row)
            continue
        log.warning("%s %s dropped: %s", symbol, row[0], why)
        dropped.append((row[0], why))
    return kept


def blank_flat(rows: Iterable[Row]) -> tuple[list[Row], int]:
    """Rows whose open = high = low = close keep only their close (a close-only record)."""
    out: list[Row] = []
    flat = 0
    for row in rows:
        if row[1] == row[2] == row[3] == row[4]:
            row = (row[0], None, None, None, row[4], row[5], row[6])
            flat += 1
        out.append(row)
    return out, flat


def blank_open_equal_close(rows: Iterable[Row], since: str) -> tuple[list[Row], int]:
    """From `since` on, an open equal to the close is a copy, not a print: unknown."""
    out: list[Row] = []
    blanked = 0
    for row in rows:
        if row[0] >= since and row[1] is not None and row[1] == row[4]:
            row = (row[0], None, *row[2:])
            blanked += 1
        out.append(row)
    return out, blanked


def blank_outside_range(symbol: str, rows: Iterable[Row]) -> tuple[list[Row], list[str]]:
    """Rows whose open or close lies outside their own high-low keep open and close; the
    range that contradicts them is unknown (empty). Returns the rows and those dates."""
    out: list[Row] = []
    days: list[str] = []
    for row in rows:
        low, high = row[3], row[2]
        prints = [p for p in (row[1], row[4]) if p is not None]
        if low is not None and high is not None and any(not low <= p <= high for p in prints):
            row = (row[0], row[1], None, None, row[4], row[5], row[6])
            days.append(row[0])
        out.append(row)
    if days:
        log.warning(
            "%s: high/low left empty on %d rows (open or close outside them)", symbol, len(days)
        )
    return out, days


def range_note(days: list[str]) -> str:
    """The per-file note for `blank_outside_range`."""
    listed = ", ".join(days[:8]) + (", …" if len(days) > 8 else "")
    return (
        f"{len(days)} rows whose open or close lies outside their own high–low keep open and "
        f"close with high/low left empty (unknown): {listed}"
    )


def drop_provisional(symbol: str, rows: list[Row], day: str, dropped: Dropped) -> list[Row]:
    """Drop the source's last row when it was written before the session closed."""
    if rows and rows[-1][0] == day:
        why = "provisional: written before the 17:00 ET close"
        log.warning("%s %s dropped: %s", symbol, day, why)
        dropped.append((day, why))
        return rows[:-1]
    return rows


def overlap_figures(a: list[Row], b: list[Row], cents: bool = False) -> tuple[int, float, float]:
    """How two sources agree on their shared dates: (days, largest open/high/low/close gap
    in price units, the same in %). Compared rounded to cents when `cents` (a 2-decimal
    source)."""
    other = {r[0]: r for r in b}
    shared = [(r, other[r[0]]) for r in a if r[0] in other]
    if not shared:
        raise SystemExit("the two sources share no session: cannot check the splice")
    worst_abs = worst = 0.0
    for x, y in shared:
        for i in (1, 2, 3, 4):
            u, v = x[i], y[i]
            if u is None or v is None:
                continue
            if cents:
                u, v = round(u, 2), round(v, 2)
            worst_abs = max(worst_abs, abs(u - v))
            worst = max(worst, abs(u / v - 1) * 100)
    return len(shared), worst_abs, worst


def splice(
    first: list[Row], second: list[Row], at: str, tolerance_pct: float, what: str, cents: bool
) -> tuple[list[Row], str]:
    """`first` before `at`, `second` from `at` on, after checking they agree on the overlap
    within `tolerance_pct` (OHLC); returns the rows and the agreement sentence."""
    days, worst_abs, worst = overlap_figures(first, second, cents)
    if worst > tolerance_pct:
        raise SystemExit(
            f"{what}: the sources differ by {worst:.6f} % on their overlap (> {tolerance_pct} %)"
        )
    rows = [r for r in first if r[0] < at] + [r for r in second if r[0] >= at]
    note = (
        f"{what}: spliced at {at}; on the {days} sessions both sources hold, every price they "
        f"share differs by at most {worst_abs:.4g} ({worst:.2g} %)"
        + (" compared rounded to cents" if cents else "")
        + f" (checked at build time; the build fails above {tolerance_pct} %)"
    )
    return rows, note


REPOS = {
    GLOBAL: "alitalbi/storage_data_fy @ 941406838f8b8a613f95450e8df70f806c1de58a",
    "DJIA": "krupalpatel/global-market-shock-analysis @ 594c988ea1e9418b7dd1aaae63bbb878152065f3",
    "bull-bear": "laimanto/bull-bear-monitor @ {commit}",
    "ixic": "swhunag65221-pixel/joe_TWbackdraw @ 9684aaa5e97b501676b8cd503c3cd2d44959c452",
    "singularity": (
        "doraemonhiroshima-prog/singularity_ai @ 14cfc8c9ff18029c4bb4dbad0f2a920d82b22508"
    ),
    "stage": "Leontin7/Stage @ f5d50121f5d89e34340b0fd266b9b5b56f5bce32",
}
WINDOW = "2024-07-01_to_2025-04-30"
FUTURES = {"NQ=F": "Nasdaq-100", "ES=F": "S&P 500", "YM=F": "Dow", "RTY=F": "Russell 2000"}
TOKYO_STOCKS = {"8035.T": "Tokyo Electron", "6857.T": "Advantest", "9984.T": "SoftBank Group"}
ADJUSTED = "adjusted levels (Yahoo split/dividend adjusted OHLC)"


def _excerpt_note(path: str) -> str:
    return f"an excerpt of the source file ({path.rsplit('__', 1)[-1].removesuffix('.csv')})"


def futures(src: Path, symbol: str) -> Series:
    """A CME e-mini continuous front-month future (Close-first columns, CRLF)."""
    s = Series(
        symbol,
        [],
        f"{GLOBAL}/{symbol}.csv",
        REPOS[GLOBAL],
        "real futures prices (continuous front month, not back-adjusted)",
    )
    rows = read_csv(src / GLOBAL / f"{symbol}.csv")
    rows = drop_provisional(symbol, rows, FUTURES_PROVISIONAL, s.dropped)
    s.rows, outside = blank_outside_range(symbol, drop_defects(symbol, rows, s.dropped))
    s.notes.append(range_note(outside))
    s.notes.append(
        f"CME e-mini {FUTURES[symbol]} future; a bar is the Globex session 18:00 ET the evening "
        "before → 17:00 ET, dated by its trade date; a roll to the next contract shows as a "
        "jump of the calendar spread (returns across a roll are not adjusted); volume 0 written "
        "empty"
    )
    return s


def global_index(src: Path, symbol: str) -> Series:
    """^GDAXI, ^STOXX50E (Close-first, CRLF): flat rows keep only their close."""
    s = Series(symbol, [], f"{GLOBAL}/{symbol}.csv", REPOS[GLOBAL], "real index levels")
    rows = drop_defects(symbol, read_csv(src / GLOBAL / f"{symbol}.csv"), s.dropped)
    s.rows, flat = blank_flat(rows)
    s.rows, outside = blank_outside_range(symbol, s.rows)
    if outside:
        s.notes.append(range_note(outside))
    s.notes.append(
        f"{flat} flat rows (open = high = low = close, a close-only record) keep only their "
        "close; volume 0 (no volume recorded) written empty"
    )
    return s


def usdjpy(src: Path) -> Series:
    """JPY=X (USD/JPY): round the clock on weekdays; its opens copy the close since 2024."""
    s = Series("JPY=X", [], f"{GLOBAL}/JPY=X.csv", REPOS[GLOBAL], "real exchange rates")
    rows = drop_defects("JPY=X", read_csv(src / GLOBAL / "JPY=X.csv"), s.dropped)
    s.rows, blanked = blank_open_equal_close(rows, "2024-01-01")
    s.rows, outside = blank_outside_range("JPY=X", s.rows)
    s.notes.append(range_note(outside))
    s.notes.append(
        "a currency pair has no volume (the source's 0 written empty); since 2024 the source's "
        f"open equals its close on most rows: those {blanked} opens are copies, written empty; "
        "weekend rows are dropped against the 24/5 calendar"
    )
    return s


def dji(src: Path) -> Series:
    """^DJI: the whole DJIA.csv (Open-first columns)."""
    return Series(
        "^DJI",
        read_csv(src / "yahoo-indices" / "DJIA.csv"),
        "yahoo-indices/DJIA.csv",
        REPOS["DJIA"],
        "real index levels",
    )


def ndx(src: Path) -> Series:
    """^NDX: the laimanto/bull-bear-monitor excerpt (Close-first)."""
    path = f"yahoo-indices/ndx__{WINDOW}.csv"
    s = Series(
        "^NDX",
        read_csv(src / path),
        path,
        REPOS["bull-bear"].format(commit="0428bd4f4ed399b8c07408ecf68c7f1607b31b17"),
        "real index levels",
    )
    s.notes.append(_excerpt_note(path))
    return s


def tokyo(src: Path, symbol: str) -> Series:
    """^N225 (Open-first) or a Tokyo stock (raw yfinance 3-line header, Close-first)."""
    path = f"yahoo-tokyo/{symbol}__{WINDOW}.csv"
    if symbol == "^N225":
        repo = REPOS["bull-bear"].format(commit="6cc2ae44e59ffe588a9d38d251d8270dade32f4e")
        s = Series(symbol, read_csv(src / path), path, repo, "real index levels")
    else:
        s = Series(symbol, read_csv(src / path, 3), path, REPOS["singularity"], ADJUSTED)
        s.notes.append(f"{TOKYO_STOCKS[symbol]}; dividend-adjusted" + (
            ", and for the later 4:1 split (a quarter of the printed price)"
            if symbol == "9984.T" else ""
        ))  # fmt: skip
    s.notes.append(_excerpt_note(path) + "; XTKS sessions (close 15:00 JST, 15:30 from 2024-11-05)")
    return s


def asml_as(src: Path) -> Series:
    """ASML.AS (Euronext Amsterdam, EUR): a 3-line-header excerpt, Open-first."""
    path = f"yahoo-europe/ASML_AS__{WINDOW}.csv"
    s = Series("ASML.AS", read_csv(src / path, 3), path, REPOS["stage"], ADJUSTED)
    s.notes.append(_excerpt_note(path) + "; EUR")
    return s


def kospi(src: Path) -> Series:
    """^KS11: the laimanto/bull-bear-monitor excerpt (Close-first), its stub row dropped."""
    path = f"yahoo-korea/ks11__{WINDOW}.csv"
    repo = REPOS["bull-bear"].format(commit="48cc1f12b26a4ba2f0ae4e8c753c0e40e9086a7c")
    s = Series("^KS11", [], path, repo, "real index levels")
    s.rows = drop_defects("^KS11", read_csv(src / path), s.dropped)
    s.notes.append(_excerpt_note(path))
    return s


def hynix(src: Path, later: Series) -> Series:
    """000660.KS: the Leontin7/Stage excerpt before the splice, `later` (yahoo-2025) from it."""
    path = "yahoo-korea/000660_KS__2024-07-01_to_2025-01-31.csv"
    early = read_csv(src / path, 3)
    rows, note = splice(early, later.rows, HYNIX_SPLICE, 0.001, "SK hynix", cents=False)
    s = Series(
        "000660.KS",
        rows,
        f"{path} (before {HYNIX_SPLICE}) + {later.origin} (from {HYNIX_SPLICE})",
        f"{REPOS['stage']}; {later.repo}",
        later.levels,
    )
    s.notes += [note, *later.notes]
    s.notes.append(
        "known defects kept (the loader warns): 2024-10-14's close lies below its low; "
        "2024-07-22/23 share the same low and close"
    )
    return s
