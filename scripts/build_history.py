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
import logging
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import history_sources as more  # noqa: E402
from history_sources import Row, Series, num  # noqa: E402

from bot.domain.calendars import sessions_between  # noqa: E402
from bot.domain.markets import calendar_for_symbol  # noqa: E402

COLUMNS = ("date", "open", "high", "low", "close", "adj_close", "volume")

REPOS = {
    "investing-yahoo": "SANGMOLEE/soxl-data @ c50b376 (`data/prices`, `data/macro`)",
    "yahoo-adjclose": "kinryukii/us-tech-quant-v18 @ a4a8d48",
    "yahoo-long": "DrRobAnthony/market-data @ 005b391 (`data/DIA.csv`, `data/AVGO.csv`)",
    "yahoo-2023-2024": "KadenWard12/Backtest @ a113714 / 0dcf53a",
    "gspc-close": "whitea27/ISA444app @ 01074ec",
    "yahoo-json": "CIInc/robinhood-options-mobile @ 4f9e104",
    "yahoo-2025": "amars78/workflows @ 6b0ef12",
    "yahoo-futures-global": "alitalbi/storage_data_fy @ 941406838f8b8a613f95450e8df70f806c1de58a",
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
"8035.T" = true
"6857.T" = true
"9984.T" = true
"ASML.AS" = true

# Where the source's *open* may be a filler copy of the previous session's close (README.md,
# "Filler opens"). Inside a span, an open equal to the previous close is not a print: gap,
# intraday and the open print are unknown on that session (high, low and close are kept).
#   "YYYY-MM-DD"                      every session before that date
#   [["YYYY-MM-DD", "YYYY-MM-DD"]]    spans: from the first date (inclusive) to the second
[filler_opens]
"^SOX" = [
  ["1994-05-05", "2005-01-01"],  # filler 1994-05 → 1995-03 and 1997-01 → 2004-12
  ["2006-04-01", "2006-10-01"],  # filler again 2006-04-06 → 2006-09
  ["2023-04-26", "2023-04-27"],  # the open (= previous close) lies below the day's low
]
"SPY" = [["2015-12-01", "2017-11-01"]]  # Yahoo copies, e.g. 2016-11-07, 2017-05-17
"^VIX" = [
  ["2008-01-01", "2010-01-01"],  # 73 and 83 opens = previous close (vs 16 and 13 a tick away)
  ["2020-03-16", "2020-03-17"],  # open = low = previous close on a +42.99 % day
  ["2024-08-05", "2024-08-06"],  # open = low = previous close on a +64.90 % day
]
"""
GSPC_CLOSE = "GSPC_close_2023-01-03_to_2025-03-31.csv"
GSPC_EXCERPT = "yahoo-indices/gspc__2025-01-13_to_2025-04-30.csv"
IXIC_EXCERPT = "yahoo-indices/ixic__2024-07-01_to_2025-04-30.csv"
IXIC_JSON = "yahoo_v8_chart_IXIC_1d_ytd_2025-02-21.json"


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
    excerpt = more.read_csv(src / GSPC_EXCERPT)
    spliced, agreement = more.splice(
        rows + extra, excerpt, more.GSPC_EXCERPT_FROM, 0.0, "^GSPC closes", cents=False
    )
    s = Series(
        "^GSPC",
        spliced,
        f"yahoo-2023-2024/GSPC.csv (OHLCV to {last}) + yahoo-2023-2024/{GSPC_CLOSE} (closes "
        f"{extra[0][0]} → 2025-01-10) + {GSPC_EXCERPT} (OHLCV from {more.GSPC_EXCERPT_FROM})",
        f"{REPOS['yahoo-2023-2024']}; close series {REPOS['gspc-close']}; excerpt "
        + more.REPOS["bull-bear"].format(commit="0428bd4f4ed399b8c07408ecf68c7f1607b31b17"),
        "real index levels",
    )
    s.notes.append(
        f"the close series equals the yfinance closes exactly on all {len(overlap)} overlapping "
        f"sessions (checked at build time); {extra[0][0]} → 2025-01-10 only close is known"
    )
    s.notes.append(agreement)
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
    excerpt = more.read_csv(src / IXIC_EXCERPT)
    rows = [r for r in rows if r[0] < more.IXIC_EXCERPT_FROM]
    spliced, agreement = more.splice(
        rows, excerpt, more.IXIC_EXCERPT_FROM, 0.001, "^IXIC", cents=True
    )
    s = Series(
        "^IXIC",
        spliced,
        f"yahoo-2023-2024/IXIC.csv (to 2024-12-31) + yahoo-json/{IXIC_JSON} (2025-01-02 → "
        f"2025-02-20) + {IXIC_EXCERPT} (from {more.IXIC_EXCERPT_FROM}; 2 decimals, no volume)",
        f"{REPOS['yahoo-2023-2024']}; JSON {REPOS['yahoo-json']}; excerpt {more.REPOS['ixic']}",
        "real index levels",
    )
    s.notes.append("JSON timestamps converted to America/New_York session dates")
    s.notes.append(agreement + "; the shared sessions are IXIC.csv's and the JSON's")
    return s, dropped


VIX_OHLC = "yahoo-futures-global/^VIX.csv"
VIX_PROVISIONAL = "2026-02-23"
"""The source's last row, written before the session's data were final (its README)."""


def vix(src: Path) -> Series:
    """^VIX: Yahoo OHLC (yahoo-futures-global, Close-first columns, CRLF) to its last final
    row, then FRED VIXCLS closes only. A flat row (open = high = low = close: 1990-1991 and
    two 1997 days) carries no opening print, so its open/high/low are left unknown."""
    ohlc: list[Row] = []
    for r in read_rows(src / VIX_OHLC):
        row = ohlcv(r, volume=False)  # volume is always 0: an index has none
        if row[0] >= VIX_PROVISIONAL:
            continue
        if row[1] == row[2] == row[3] == row[4]:
            row = (row[0], None, None, None, row[4], row[5], None)
        ohlc.append(row)
    fred = {r["date"]: num(r["value"]) for r in read_rows(src / "investing-yahoo" / "VIXCLS.csv")}
    overlap = [r for r in ohlc if r[0] in fred and fred[r[0]] is not None]
    differ = [r[0] for r in overlap if abs((r[4] or 0.0) - (fred[r[0]] or 0.0)) > 0.011]
    if len(differ) > 0.01 * len(overlap):
        raise SystemExit(f"^VIX: Yahoo and FRED closes disagree on {len(differ)} sessions")
    last = ohlc[-1][0]
    extra: list[Row] = [(d, None, None, None, c, c, None) for d, c in fred.items() if d > last]
    flat = sum(1 for r in ohlc if r[1] is None)
    s = Series(
        "^VIX",
        ohlc + extra,
        f"{VIX_OHLC} (OHLC) + investing-yahoo/VIXCLS.csv (FRED VIXCLS, closes after {last})",
        f"{REPOS['yahoo-futures-global']}; FRED {REPOS['investing-yahoo']}",
        "real index levels",
    )
    s.notes.append(
        f"OHLC from Yahoo to {last} (the source's {VIX_PROVISIONAL} row was written before the "
        f"close: provisional, left out), then FRED closes only; {flat} flat Yahoo rows "
        "(open = high = low = close, 1990-1991 and 1997) keep only their close; volume is "
        "always 0 in the source (written empty)"
    )
    s.notes.append(
        f"Yahoo's close equals FRED's to the cent on {len(overlap) - len(differ)} of "
        f"{len(overlap)} shared sessions (checked at build time); they differ on "
        + ", ".join(differ)
        + " (Yahoo's kept)"
    )
    return s


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
    "^VIX": "a source row on a day NYSE was closed (Yahoo's 2025-09-01, Labor Day; FRED's"
    " values on holidays)",
    **{
        s: "exchange_calendars' CMES has no session on these NYSE closures (2004-06-11, 2025-01-09:"
        " days of mourning on which CME traded a shortened session)"
        for s in more.FUTURES
    },
    "JPY=X": "a weekend row",
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
    for r in s.rows:
        if r[0] not in sessions:
            more.log.warning("%s %s dropped: %s closed: %s", s.symbol, r[0], cal, reason)
            s.dropped.append((r[0], f"{cal} closed: {reason}"))
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
    out += [ix, vix(src), more.hynix(src, korea(src, "000660.KS")), korea(src, "005930.KS")]
    out += [more.dji(src), more.ndx(src)]
    out += [more.futures(src, s) for s in more.FUTURES]
    out += [more.global_index(src, s) for s in ("^GDAXI", "^STOXX50E")]
    out += [more.usdjpy(src), *(more.tokyo(src, s) for s in ("^N225", *more.TOKYO_STOCKS))]
    out += [more.asml_as(src), more.kospi(src)]
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

- `^SOX`: before 2005 most opens are filler copies of the previous close (see "Filler opens":
  the bot treats them as unknown). On 2023-04-26 the open (2906.3, the previous close) is below
  the low (2908.4): the loader warns about it; the close is fine.
- `DIA`, `AVGO` (`yahoo-long/`): levels are dividend adjusted: DIA's close on 2025-01-27 reads
  435.65 on a day it traded near 445.7. Quote levels from unadjusted files only.
- `^SOX`: the source volume is always 0 (an index has no volume); written as empty.
- Korean files: KRX was closed 2025-01-27 → 2025-01-30 (Seollal), so there are no rows for those
  days; the DeepSeek reaction shows on 2025-01-31.
- `investing-yahoo/` history is Investing.com (prices to 2 decimals) up to late July 2026, then
  Yahoo; each row comes whole from one feed. SPY and QQQ are Yahoo throughout.
- 2025 index data: `^GSPC` closes only 2025-01-02 → 2025-01-10, OHLCV to 2025-04-30; `^IXIC`
  OHLC to 2025-04-30 (no volume from 2025-02-21); `^NDX` 2024-07-01 → 2025-04-30; `^DJI`
  1992 → 2026-03-05.
- CME futures (`NQ=F`, `ES=F`, `YM=F`, `RTY=F`): continuous front month, not back-adjusted;
  the 2025-01-27 bar is the Globex session from Sunday 18:00 ET to Monday 17:00 ET. Yahoo has
  no bar on the US holidays on which CMES trades a shortened session (the loader's "missing
  sessions"). Rows whose open or close lies outside their own high–low (`YM=F` 23 since
  2024, `RTY=F` 2025-09-15, older futures rows, many `JPY=X` rows by a few pips) keep open
  and close; their high and low are left empty (see the per-file notes).
- Tokyo stocks, `ASML.AS`, `000660.KS` before 2025-01-22: adjusted levels (9984.T also for a
  later 4:1 split: 2,407 on 2025-01-27 is a quarter of the printed price). Returns only.
- `000660.KS` 2024-10-14: the close lies below the low (the loader warns).
- `^VIX`: OHLC (Yahoo) to 2026-02-20, then FRED closes only (no opens: an opening VIX alert
  cannot fire on those sessions). Yahoo's 2026-02-06 close (20.37) differs from FRED's (17.76);
  the file keeps Yahoo's, from the source it takes that row from.

## Defects dropped at build time (never used)

`scripts/history_sources.py` drops each with a logged warning and the per-file notes above
list them: the Sunday stub row 2025-07-13 of the four futures and `JPY=X`; the futures' last
row 2026-02-23 (provisional: written 16:31–16:37 ET, before the 17:00 ET close); `^STOXX50E`'s
stub rows with open/high/low = 0 (2025-08-11, 08-12, 09-01) and its zero-volume fills (a flat
row equal to the previous close on a day Eurex was closed); `^KS11`'s stub 2024-09-12; and
every row on a day the symbol's calendar has no session (`JPY=X` weekend rows, the two NYSE
days of mourning on which CME traded a short session but exchange_calendars' CMES has none).

## Indices and their proxies

`^DJI` (1992 → 2026-03-05) and `^NDX` (2024-07-01 → 2025-04-30) are the indices themselves;
where an index file has no row for a session, its proxy ETF serves (`DIA` for the Dow, `QQQ`
for the Nasdaq-100, `SPY`, `QQQ` for `^GSPC`, `^IXIC`) and every output names the proxy.
On 2025-01-27 `^DJI` reads +0.65 % (DIA: +0.68 %).

## Calendars

Each file is validated against the calendar of the market its symbol belongs to
(`[markets]` in `bot/defaults.toml`): `XNYS` (US names, indices, `^VIX`), `XKRX` (`.KS`,
`^KS11`), `XTKS` (`.T`, `^N225`), `XAMS` (`.AS`, `^STOXX50E`), `XETR` (`^GDAXI`), `CMES` (the
e-mini futures) and `24/5` (`JPY=X`).
"""


FILLER_NOTES = """\
## Filler opens (`levels.toml` `[filler_opens]`)

Some sources fill a missing open with the previous session's close. Such an open is not a
print: a gap computed from it reads 0.00 % and "intraday" becomes the close-to-close move.
Inside the spans listed in `levels.toml`, an open equal to the previous close is treated as
unknown (gap, intraday and the open print are unavailable, reason `filler_open`); high, low
and close are kept. Outside them such an open is kept as a real print.

How the spans were chosen: where opens are real, an open exactly equal to the previous close
is about as frequent as one a single tick above *or* below it (0.1 point for `^SOX`, one cent
for `SPY`), so "equal" runs at about half of "one tick away". Counted in these files:

| file | period | sessions | open = previous close | open one tick away | reading |
|---|---|---|---|---|---|
| `^SOX` | 1994-05 → 1995-03 | 230 | 217 | 4 | filler |
| `^SOX` | 1995-04 → 1996-12 | 443 | 22 | 38 | real opens; equal ones unknown |
| `^SOX` | 1997-01 → 2004-11 | 1991 | 1852 | 40 | filler |
| `^SOX` | 2004-12 → 2005-12 | 274 | 43 | 48 | mostly real (1.8x chance) |
| `^SOX` | 2006-04 → 2006-09 | 126 | 94 | 6 | filler |
| `^SOX` | 2006-10 → 2008-12 | 567 | 80 | 135 | real (1.2x chance) |
| `^SOX` | 2009 → 2026 | 4436 | 47 | 76 | real |
| `SPY` | 2015-12 → 2017-10 | 484 | 24 | 4 | filler copies |
| `SPY` | rest | 3952 | 12 | 30 | real |
| `^VIX` | 2008 → 2009 | 505 | 156 | 29 | filler |
| `^VIX` | 1992 → 2007, 2010 → 2026-02 | 8089 | 109 | 134 | real; two days unknown (below) |

`SPY`'s copies include 2016-11-07 (+2.2 % close to close, "open" at the day's low) and
2017-05-17 (-1.8 %, "open" at the day's high). `SOXX`, `MU`, `QQQ`, `DIA` and `AVGO` stay
near chance level. `NVDA`'s 1,232 equal opens (mostly 2010-2016) are split-adjusted prices of
0.3-2 rounded to the cent, not filler: the cent-rounding guard makes those gap and intraday
moves unavailable (reason `coarse_prices`).

`^VIX` (Yahoo, `yahoo-futures-global/`) carries its first value of the day as the open. Two
big days are marked one by one: on 2020-03-16 (+42.99 %) and 2024-08-05 (+64.90 %) the open
equals both the previous close and the day's low, a carried-over value rather than a print
at the bell, so those opens are unknown (the gap that day is not used). The flat rows of
1990-1991 (open = high = low = close) keep only their close.

The first `^SOX` span runs from the first row to 2005-01-01 in one piece: in 1995-04 → 1996-12
opens are real at chance level, but an equal one there cannot be told from a filler copy (for
example 1996-01-15, -7.79 % with the "open" at the previous close), so those 22 are unknown too.
In 2005 and 2007-2008 a few filler opens may remain unmarked, for the same reason.

Sessions whose open equals the previous close, per file with opens (in / outside the spans):

"""


def render_filler_table(series: list[Series]) -> str:
    """Per file: sessions whose open equals the previous close, inside and outside the spans."""
    spans = tomllib.loads(LEVELS_TOML)["filler_opens"]
    lines = ["| file | sessions with an open | open = previous close | in filler spans | outside |"]
    lines.append("|---|---|---|---|---|")
    for s in series:
        rule = spans.get(s.symbol, [])
        ranges = [("0000-00-00", rule)] if isinstance(rule, str) else [tuple(r) for r in rule]
        with_open = equal = inside = 0
        for prev, row in zip(s.rows, s.rows[1:], strict=False):
            if row[1] is None or prev[4] is None:
                continue
            with_open += 1
            if row[1] == prev[4]:
                equal += 1
                inside += any(a <= row[0] < b for a, b in ranges)
        if with_open:
            lines.append(
                f"| `{s.symbol}.csv` | {with_open} | {equal} | {inside} | {equal - inside} |"
            )
    return "\n".join(lines) + "\n"


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
    out += ["; ".join(moves) + ".", "", FILLER_NOTES + render_filler_table(series), STATIC_NOTES]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Build every file and the provenance README; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "market")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "history")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(message)s", level=logging.INFO)
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
