"""Normalise the shared real market records into `data/history/<Yahoo symbol>.csv`.

Every output file has the header `date,open,high,low,close,adj_close,volume`, ISO dates,
an empty cell where a value is unknown, and floats written with `repr` (exact round trip).
Each symbol's prices come from one source; rows on days its exchange was closed are
dropped and listed in the generated `data/history/README.md`.

Usage: `.venv/bin/python scripts/build_history.py [--source DIR] [--out DIR]`
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.feeds.calendar import calendar_for_symbol, sessions_between  # noqa: E402

COLUMNS = ("date", "open", "high", "low", "close", "adj_close", "volume")
Row = tuple[str, float | None, float | None, float | None, float | None, float | None, float | None]

REPOS = {
    "investing-yahoo": "SANGMOLEE/soxl-data @ c50b376 (`data/prices`, `data/macro`)",
    "yahoo-adjclose": "kinryukii/us-tech-quant-v18 @ a4a8d48",
    "yahoo-long": "DrRobAnthony/market-data @ 005b391 (`data/DIA.csv`, `data/AVGO.csv`)",
    "yahoo-2023-2024": "KadenWard12/Backtest @ a113714 / 0dcf53a",
    "gspc-close": "whitea27/ISA444app @ 01074ec",
    "yahoo-json": "CIInc/robinhood-options-mobile @ 4f9e104",
    "yahoo-2025": "amars78/workflows @ 6b0ef12",
}
# Which files' levels are not the day's printed prices (read by bot.domain.market).
LEVELS_TOML = """# Which files' price *levels* differ from the day's printed prices (see README.md).
# Returns are right either way; only levels shown to a user are labelled "adjusted".
#   true          every level in the file is split/dividend adjusted
#   "YYYY-MM-DD"  levels before that date are split-adjusted; from it on they are real
# A file not listed here has real levels (indices, SPY/QQQ `close`).
[adjusted_levels]
"NVDA" = "2024-06-10"   # 10-for-1 split
"SOXX" = "2024-03-07"   # 3-for-1 split
"AVGO" = true
"DIA" = true
"SMH" = true
"AMD" = true
"TSM" = true
"ASML" = true
"ARM" = true
"MRVL" = true
"INTC" = true
"QCOM" = true
"AAPL" = true
"MSFT" = true
"GOOGL" = true
"META" = true
"AMZN" = true
"ORCL" = true
"VST" = true
"CEG" = true
"000660.KS" = true
"005930.KS" = true
"""
GSPC_CLOSE = "GSPC_close_2023-01-03_to_2025-03-31.csv"
IXIC_JSON = "yahoo_v8_chart_IXIC_1d_ytd_2025-02-21.json"


@dataclass
class Series:
    """One output file in the making."""

    symbol: str
    rows: list[Row]
    origin: str
    repo: str
    levels: str
    notes: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def num(text: str) -> float | None:
    """A source cell as a float, None when empty."""
    text = text.strip()
    return None if text == "" else float(text)


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    """A CSV file as dicts keyed by its header."""
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def ohlcv(r: dict[str, str], adj: str | None = None, volume: bool = True) -> Row:
    """A row from lower- or title-case OHLCV keys; adj_close = close unless `adj` names it."""
    get = {k.lower(): v for k, v in r.items()}
    close = num(get["close"])
    return (
        get["date"][:10],
        num(get["open"]),
        num(get["high"]),
        num(get["low"]),
        close,
        close if adj is None else num(get[adj]),
        num(get["volume"]) if volume else None,
    )


def investing(src: Path, symbol: str, name: str, blank_volume: bool = False) -> Series:
    """investing-yahoo/ OHLCV with adj_close (Investing.com rows, then Yahoo rows)."""
    raw = read_rows(src / "investing-yahoo" / f"{name}.csv")
    rows = [ohlcv(r, adj="adj_close", volume=not blank_volume) for r in raw]
    feeds = _feed_spans(raw)
    levels = "real (split-adjusted history)" if symbol != "^SOX" else "real index levels"
    if symbol in ("SPY", "QQQ"):
        levels = "real close; distinct dividend-adjusted adj_close"
    s = Series(symbol, rows, f"investing-yahoo/{name}.csv", REPOS["investing-yahoo"], levels)
    s.notes.append(f"feeds: {feeds}")
    if blank_volume:
        s.notes.append("source volume is always 0 (an index has none): written empty")
    return s


def _feed_spans(raw: list[dict[str, str]]) -> str:
    """Which `source` column value covers which dates, e.g. `investing 1994-05-05→…`."""
    spans: list[list[str]] = []
    for r in raw:
        if not spans or spans[-1][0] != r["source"]:
            spans.append([r["source"], r["date"], r["date"]])
        spans[-1][2] = r["date"]
    return "; ".join(f"{s} {a}→{b}" for s, a, b in spans)


def yahoo_long(src: Path, symbol: str) -> Series:
    """yahoo-long/ split/dividend-adjusted OHLCV (CRLF): close = adj_close."""
    rows = [ohlcv(r) for r in read_rows(src / "yahoo-long" / f"{symbol}.csv")]
    return Series(
        symbol,
        rows,
        f"yahoo-long/{symbol}.csv",
        REPOS["yahoo-long"],
        "adjusted levels (split and dividend adjusted OHLC)",
    )


def adjclose(src: Path, symbol: str) -> Series:
    """yahoo-adjclose/ adjusted closes only (UTF-8 BOM): close = adj_close."""
    rows: list[Row] = []
    for r in read_rows(src / "yahoo-adjclose" / f"{symbol}.csv", encoding="utf-8-sig"):
        close = num(r["Adj Close"])
        rows.append((r["Date"], None, None, None, close, close, None))
    return Series(
        symbol,
        rows,
        f"yahoo-adjclose/{symbol}.csv",
        REPOS["yahoo-adjclose"],
        "adjusted levels (close only; open/high/low/volume unknown)",
    )


def yfinance_3line(path: Path) -> list[Row]:
    """A raw yfinance CSV (Price/Ticker/Date header lines); columns mapped by name."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    names = [c.lower() for c in lines[0]]
    assert lines[1][0] == "Ticker" and lines[2][0] == "Date", path
    names[0] = "date"  # the first column, headed "Price", holds the dates
    rows = [ohlcv(dict(zip(names, cells, strict=True))) for cells in lines[3:]]
    return rows


def gspc(src: Path) -> Series:
    """^GSPC: yfinance OHLCV 2023-2024, then close-only rows from the ISA444app series."""
    base = src / "yahoo-2023-2024"
    rows = yfinance_3line(base / "GSPC.csv")
    closes = {r["ds"]: num(r["y"]) for r in read_rows(base / GSPC_CLOSE)}
    overlap = [r for r in rows if r[0] in closes]
    mismatched = [r[0] for r in overlap if closes[r[0]] != r[4]]
    if mismatched:
        raise SystemExit(f"^GSPC close series disagrees with yfinance on {mismatched[:5]}")
    last = rows[-1][0]
    extra: list[Row] = [
        (d, None, None, None, c, c, None) for d, c in sorted(closes.items()) if d > last
    ]
    s = Series(
        "^GSPC",
        rows + extra,
        f"yahoo-2023-2024/GSPC.csv (OHLCV) + yahoo-2023-2024/{GSPC_CLOSE}",
        f"{REPOS['yahoo-2023-2024']}; close series {REPOS['gspc-close']}",
        "real index levels",
    )
    s.notes.append(
        f"the close series equals the yfinance closes exactly on all {len(overlap)} overlapping "
        f"sessions (checked at build time); from {extra[0][0]} only close is known"
    )
    return s


def ixic(src: Path) -> tuple[Series, list[tuple[str, str]]]:
    """^IXIC: yfinance OHLCV 2023-2024, then the recorded v8 chart JSON bars (no live bar)."""
    rows = yfinance_3line(src / "yahoo-2023-2024" / "IXIC.csv")
    doc = json.loads((src / "yahoo-json" / IXIC_JSON).read_text())
    result = doc["chart"]["result"][0]
    tz = ZoneInfo(result["meta"]["exchangeTimezoneName"])
    quote = result["indicators"]["quote"][0]
    dropped: list[tuple[str, str]] = []
    for i, stamp in enumerate(result["timestamp"]):
        day = datetime.fromtimestamp(stamp, UTC).astimezone(tz).date().isoformat()
        if day > "2025-02-20":
            dropped.append((day, "live, unfinished bar of the recorded response"))
            continue
        o, h, lo, c, v = (quote[k][i] for k in ("open", "high", "low", "close", "volume"))
        rows.append((day, o, h, lo, c, c, None if v is None else float(v)))
    s = Series(
        "^IXIC",
        rows,
        f"yahoo-2023-2024/IXIC.csv + yahoo-json/{IXIC_JSON}",
        f"{REPOS['yahoo-2023-2024']}; JSON {REPOS['yahoo-json']}",
        "real index levels",
    )
    s.notes.append("JSON timestamps converted to America/New_York session dates")
    return s, dropped


def vix(src: Path) -> Series:
    """^VIX: FRED VIXCLS close only."""
    rows: list[Row] = []
    for r in read_rows(src / "investing-yahoo" / "VIXCLS.csv"):
        v = num(r["value"])
        rows.append((r["date"], None, None, None, v, v, None))
    return Series(
        "^VIX",
        rows,
        "investing-yahoo/VIXCLS.csv (FRED VIXCLS)",
        REPOS["investing-yahoo"],
        "real index levels (close only)",
    )


def korea(src: Path, symbol: str) -> Series:
    """yahoo-2025/ auto-adjusted OHLCV for a KRX listing: close = adj_close."""
    rows = [ohlcv(r) for r in read_rows(src / "yahoo-2025" / f"{symbol}.csv")]
    s = Series(
        symbol,
        rows,
        f"yahoo-2025/{symbol}.csv",
        REPOS["yahoo-2025"],
        "adjusted levels (Yahoo auto-adjusted OHLC)",
    )
    s.notes.append(
        "KRX sessions; Korea was closed 2025-01-27 → 01-30 (Seollal). 2026-06-03 is the date of"
        " Korea's nationwide local elections (a KRX holiday) that exchange_calendars 4.13 still"
        " lists as a session; the loader reports both absent days as missing sessions"
    )
    return s


NON_SESSION_REASON = {
    "^VIX": "FRED publishes a value on days NYSE was closed (holidays incl. the 2004-06-11"
    " and 2025-01-09 days of mourning)",
}


def keep_sessions(s: Series) -> None:
    """Drop rows on days the symbol's exchange had no session; record them."""
    dates = [r[0] for r in s.rows]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise SystemExit(f"{s.symbol}: source dates are unsorted or duplicated")
    cal = calendar_for_symbol(s.symbol)
    sessions = {d.date().isoformat() for d in sessions_between(cal, dates[0], dates[-1])}
    reason = NON_SESSION_REASON.get(s.symbol, "stray row on a non-session")
    kept = [r for r in s.rows if r[0] in sessions]
    s.dropped += [(r[0], f"{cal} closed: {reason}") for r in s.rows if r[0] not in sessions]
    s.rows = kept
    s.missing = sorted(sessions - {r[0] for r in kept})


def fmt(value: float | None) -> str:
    """A cell: empty when unknown, else the exact `repr` of the float."""
    return "" if value is None else repr(float(value))


def write_csv(s: Series, out: Path) -> None:
    """Write one normalised file (LF line ends)."""
    with (out / f"{s.symbol}.csv").open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        for r in s.rows:
            fh.write(",".join([r[0], *(fmt(v) for v in r[1:])]) + "\n")


def build(src: Path) -> list[Series]:
    """Every shipped series, from its one chosen source."""
    out: list[Series] = [investing(src, "^SOX", "SOX", blank_volume=True)]
    out += [investing(src, s, s) for s in ("SOXX", "NVDA", "MU", "SPY", "QQQ")]
    out += [yahoo_long(src, s) for s in ("AVGO", "DIA")]
    adj = "SMH AMD TSM ASML ARM MRVL INTC QCOM AAPL MSFT GOOGL META AMZN ORCL VST CEG"
    out += [adjclose(src, s) for s in adj.split()]
    out.append(gspc(src))
    ix, ix_dropped = ixic(src)
    out += [ix, vix(src), korea(src, "000660.KS"), korea(src, "005930.KS")]
    for s in out:
        keep_sessions(s)
    ix.dropped += ix_dropped
    return out


STATIC_NOTES = """\
## Conventions

- Header `date,open,high,low,close,adj_close,volume`; ISO dates; one row per session the source
  has; an empty cell means the value is unknown (nothing is estimated or filled).
- Floats are written with Python `repr` (exact round trip of the parsed source value).
- `adj_close` is the series to compute returns from. Where the source has only one price series
  (indices, VIX, the adjusted-only feeds) `close` and `adj_close` hold the same value.
- "adjusted levels" means the printed price is split/dividend adjusted and differs from the
  price printed on the tape that day; returns are right, levels are not quotable.
- Regenerate with `.venv/bin/python scripts/build_history.py` (reads `/work/shared/data/market`).

## Known defects kept as they are

- `^SOX`: before ~2005 most opens are filler copies of the previous close (open-to-close and
  gap figures mean nothing there). On 2023-04-26 the open (2906.3) is below the low (2908.4):
  the loader warns about it; the close is fine.
- `DIA`, `AVGO` (`yahoo-long/`): levels are dividend adjusted: DIA's close on 2025-01-27 reads
  435.65 on a day it traded near 445.7. Quote levels from unadjusted files only.
- `^SOX`: the source volume is always 0 (an index has no volume); written as empty.
- Korean files: KRX was closed 2025-01-27 → 2025-01-30 (Seollal), so there are no rows for those
  days; the DeepSeek reaction shows on 2025-01-31.
- `investing-yahoo/` history is Investing.com (prices to 2 decimals) up to late July 2026, then
  Yahoo; each row comes whole from one feed. SPY and QQQ are Yahoo throughout.
- `^GSPC` after 2024-12-31 and `^IXIC` 2025-01-02 → 2025-02-20 are the only 2025 index data.

## No ^DJI, no ^NDX

There is no Dow Jones Industrial Average or Nasdaq-100 index file: no such series exists in the
shared records. Use `DIA` as the Dow proxy and `QQQ` as the Nasdaq-100 proxy, and name the proxy
in any output that uses them.
"""


def _move(s: Series, day: str) -> float | None:
    """Close-to-close change into `day` from adj_close, None when not computable."""
    idx = next((i for i, r in enumerate(s.rows) if r[0] == day), None)
    if not idx:
        return None
    prev, cur = s.rows[idx - 1][5], s.rows[idx][5]
    return None if prev is None or cur is None else cur / prev - 1


def render_readme(series: list[Series]) -> str:
    """The provenance README for `data/history/`."""
    out = [
        "# Shipped real price history (`data/history/`)",
        "",
        "Real daily prices copied from the public records in `../shared/data/market`, one file",
        "per Yahoo symbol, normalised by `scripts/build_history.py`. Nothing here is synthetic.",
        "",
        "| file | origin | repository @ commit | span | rows | levels | dropped |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in series:
        out.append(
            f"| `{s.symbol}.csv` | `{s.origin}` | {s.repo} | {s.rows[0][0]} → {s.rows[-1][0]} "
            f"| {len(s.rows)} | {s.levels} | {len(s.dropped)} |"
        )
    out += ["", "## Per-file notes, dropped rows and missing sessions", ""]
    for s in series:
        lines = list(s.notes)
        for why in dict.fromkeys(why for _, why in s.dropped):
            days = [d for d, w in s.dropped if w == why]
            lines.append(f"dropped {len(days)} row(s), {why}: {', '.join(days)}")
        if s.missing:
            lines.append(
                "sessions missing from the source (left absent, not filled): "
                + ", ".join(s.missing)
            )
        if lines:
            out.append(f"- `{s.symbol}`: " + "; ".join(lines))
    out += [
        "",
        "## Check: the DeepSeek day (close 2025-01-24 → close 2025-01-27, from adj_close)",
        "",
    ]
    moves = [f"{s.symbol} {move:+.2%}" for s in series if (move := _move(s, "2025-01-27"))]
    out += ["; ".join(moves) + ".", "", STATIC_NOTES]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Build every file and the provenance README; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "market")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "history")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    series = build(args.source)
    for s in series:
        write_csv(s, args.out)
    (args.out / "README.md").write_text(render_readme(series), encoding="utf-8")
    (args.out / "levels.toml").write_text(LEVELS_TOML, encoding="utf-8")
    for s in series:
        print(
            f"{s.symbol:10} {len(s.rows):6} rows {s.rows[0][0]}→{s.rows[-1][0]} "
            f"dropped {len(s.dropped)} missing {len(s.missing)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
