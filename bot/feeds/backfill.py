"""Daily bars missing from the shipped history, fetched through the daily-bars port into a
writable cache.

The shipped files stop in 2026 (^GSPC in 2025-03). At start and after each close, the
sessions after a symbol's last known close are fetched in one round of the vendor's
`DailyBars` adapter for every symbol that needs them, and written beside the shipped files into
`[feed] cache_dir` (one `<symbol>.csv` of the shipped schema per symbol, plus
`PROVENANCE.toml`: source "Yahoo, live" and when each file was last extended).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from bot.domain.markets import market_for_symbol
from bot.ports import DailyBars

log = logging.getLogger(__name__)

PROVENANCE = "Yahoo, live"
COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")


class BackfillCache:
    """Backfilled daily rows per Yahoo symbol, kept as CSV files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._rows: dict[str, pd.DataFrame] = {}

    def path(self, symbol: str) -> Path:
        """The cache file of a symbol."""
        return self.directory / f"{symbol}.csv"

    def rows(self, symbol: str) -> pd.DataFrame:
        """The cached rows of a symbol (date index, the shipped columns); empty if none."""
        if symbol not in self._rows:
            path = self.path(symbol)
            if path.is_file():
                frame = pd.read_csv(path, index_col="date", parse_dates=["date"])
                self._rows[symbol] = frame.reindex(columns=list(COLUMNS)).astype(float)
            else:
                self._rows[symbol] = pd.DataFrame(
                    columns=list(COLUMNS), index=pd.DatetimeIndex([], name="date"), dtype=float
                )
        return self._rows[symbol]

    def last_date(self, symbol: str) -> pd.Timestamp | None:
        """The last cached session of a symbol with a close."""
        closes = self.rows(symbol)["close"].dropna()
        return pd.Timestamp(closes.index[-1]) if not closes.empty else None

    def append(self, symbol: str, rows: pd.DataFrame, fetched_at: datetime) -> int:
        """Add rows newer than what is cached; write the file and the provenance. Returns n."""
        current = self.rows(symbol)
        last = self.last_date(symbol)
        new = rows if last is None else rows[rows.index > last]
        new = new.dropna(subset=["close"])
        if new.empty:
            return 0
        merged = pd.concat([current, new.reindex(columns=list(COLUMNS))]).sort_index()
        self.directory.mkdir(parents=True, exist_ok=True)
        merged.to_csv(self.path(symbol), index_label="date", date_format="%Y-%m-%d")
        self._rows[symbol] = merged
        self._write_provenance(symbol, fetched_at, merged)
        return len(new)

    def _write_provenance(self, symbol: str, fetched_at: datetime, rows: pd.DataFrame) -> None:
        path = self.directory / "PROVENANCE.toml"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        key = f'"{symbol}"'
        lines = [line for line in lines if not line.startswith(f"{key} =")]
        if not lines:
            lines = ["# Daily bars backfilled by the live feed (not shipped).", "[files]"]
        first, last = rows.index[0].date(), rows.index[-1].date()
        lines.append(
            f'{key} = {{ source = "{PROVENANCE}", fetched_at = "{fetched_at.isoformat()}", '
            f'first = "{first}", last = "{last}" }}'
        )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _closed_session(symbol: str, now: datetime) -> pd.Timestamp | None:
    """The session of the symbol's own market that closed last (the calendar API's answer)."""
    closed = market_for_symbol(symbol).last_closed_session(now)
    return closed[0] if closed is not None else None


def needs_backfill(last_known: Mapping[str, pd.Timestamp | None], now: datetime) -> dict[str, str]:
    """Symbols whose last known close is before their last closed session: {symbol: start}."""
    wanted: dict[str, str] = {}
    for symbol, last in last_known.items():
        closed = _closed_session(symbol, now)
        if closed is None or (last is not None and last >= closed):
            continue
        start = (last + timedelta(days=1)) if last is not None else closed - timedelta(days=60)
        wanted[symbol] = pd.Timestamp(start).date().isoformat()
    return wanted


async def backfill(
    bars: DailyBars,
    cache: BackfillCache,
    last_known: Mapping[str, pd.Timestamp | None],
    now: datetime,
) -> dict[str, int]:
    """Fetch every missing closed session in one round of the daily-bars port; rows added."""
    wanted = needs_backfill(last_known, now)
    known = [last for last in last_known.values() if last is not None]
    reach = max(known).date().isoformat() if known else "nothing"
    if not wanted:
        log.info("history reaches %s: up to date, nothing to backfill", reach)
        return {}
    start = min(wanted.values())
    end = pd.Timestamp(now).tz_convert("UTC").normalize() + timedelta(days=1)
    batch = await bars.daily_bars(sorted(wanted), date.fromisoformat(start), end.date())
    added: dict[str, int] = {}
    for symbol in wanted:
        rows = batch.rows.get(symbol)
        if rows is None:
            continue
        closed = _closed_session(symbol, now)
        if closed is not None and not rows.empty:
            rows = rows[rows.index <= closed]  # only sessions that have closed
        count = cache.append(symbol, rows, now)
        if count:
            added[symbol] = count
    log.log(
        logging.INFO if len(added) == len(wanted) else logging.WARNING,
        "history reaches %s; backfill from %s %s: %d of %d symbols, %d sessions added%s",
        reach,
        start,
        "filled the gap" if len(added) == len(wanted) else "did not fill the gap",
        len(added),
        len(wanted),
        sum(added.values()),
        f"; {batch.failures}" if batch.failures else "",
    )
    return added


def symbols_in(cache: BackfillCache, symbols: Iterable[str]) -> dict[str, pd.Timestamp | None]:
    """The last cached close of each symbol (None where nothing is cached)."""
    return {symbol: cache.last_date(symbol) for symbol in symbols}
