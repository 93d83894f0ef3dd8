"""Market data over shipped (or user-supplied) history: metric tables, snapshots, columns.

Files are named by Yahoo symbol (`^SOX.csv`, `DIA.csv`) or by alias (`SOX.csv`); an
alias-named file serves the alias's symbol. Each symbol follows the calendar of the market
it trades on (`bot/domain/markets.py`, from `[markets]`); a snapshot is of a session of the
default market.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.history import HistoryError, SymbolHistory, load_symbol_file
from bot.domain.markets import market_for_calendar, primary_market
from bot.domain.price_metrics import (
    SPAN_METRICS,
    FillerSpan,
    MetricTable,
    Unavailable,
    compute_metrics,
    explain_unavailable,
    span_at_print,
)
from bot.domain.snapshot import Quote, Reading, Snapshot
from bot.domain.symbols import Instrument, SymbolBook

Stage = Literal["previous_close", "open", "close"]
_MOVE_METRICS = ("pct", "gap", "intraday", "z", *SPAN_METRICS)


LEVELS_FILE = "levels.toml"


def _read_levels_toml(path: Path) -> dict[str, Any]:
    """The optional `levels.toml` beside the CSVs, parsed ({} when absent)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise HistoryError(path, None, f"unreadable: {exc}") from None


def _day(path: Path, symbol: str, value: object) -> pd.Timestamp:
    if isinstance(value, str):
        try:
            return pd.Timestamp(date.fromisoformat(value))
        except ValueError:
            pass
    raise HistoryError(path, None, f"{symbol}: {value!r} is not a YYYY-MM-DD date")


def read_adjusted_levels(path: Path) -> dict[str, bool | pd.Timestamp]:
    """`[adjusted_levels]` of `levels.toml`: which files carry adjusted levels."""
    levels: dict[str, bool | pd.Timestamp] = {}
    for symbol, value in _read_levels_toml(path).get("adjusted_levels", {}).items():
        if isinstance(value, bool):
            levels[symbol] = value
        elif isinstance(value, str):
            levels[symbol] = _day(path, symbol, value)
        else:
            raise HistoryError(path, None, f"{symbol}: use true or a YYYY-MM-DD date")
    return levels


def read_filler_opens(path: Path) -> dict[str, tuple[FillerSpan, ...]]:
    """`[filler_opens]` of `levels.toml`: where an open equal to the previous close is filler.

    A value is either "YYYY-MM-DD" (every session before that date) or a list of
    ["from", "to"] pairs (from inclusive, to exclusive).
    """
    spans: dict[str, tuple[FillerSpan, ...]] = {}
    for symbol, value in _read_levels_toml(path).get("filler_opens", {}).items():
        if isinstance(value, str):
            spans[symbol] = ((pd.Timestamp.min, _day(path, symbol, value)),)
            continue
        if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in value
        ):
            raise HistoryError(
                path, None, f"{symbol}: use a YYYY-MM-DD date or a list of [from, to] dates"
            )
        found = tuple((_day(path, symbol, a), _day(path, symbol, b)) for a, b in value)
        if any(a >= b for a, b in found):
            raise HistoryError(path, None, f"{symbol}: a [from, to] span must end after it starts")
        spans[symbol] = found
    return spans


class LazyQuotes(Mapping[str, "Quote | Unavailable"]):
    """A snapshot's quotes, each computed (its file read) when first looked up."""

    def __init__(self, symbols: Iterable[str], quote: Callable[[str], Quote | Unavailable]):
        self._symbols = list(symbols)
        self._known = set(self._symbols)
        self._quote = quote
        self._cache: dict[str, Quote | Unavailable] = {}

    def __getitem__(self, symbol: str) -> Quote | Unavailable:
        if symbol not in self._known:
            raise KeyError(symbol)
        if symbol not in self._cache:
            self._cache[symbol] = self._quote(symbol)
        return self._cache[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)


class MarketDataError(ValueError):
    """Market data that cannot serve a request (no such file, no such session)."""


@dataclass(frozen=True)
class Column:
    """One instrument's metric over a date index, with the symbol used per session."""

    values: np.ndarray
    via_proxy: np.ndarray


class MarketData:
    """Histories by Yahoo symbol, their metric tables and aliases — each file read, checked
    and turned into metrics only when a command first needs that symbol."""

    def __init__(
        self, histories: Mapping[str, SymbolHistory], symbols: SymbolBook, source: str
    ) -> None:
        self._histories = dict(histories)
        self._pending: dict[str, Path] = {}
        """Symbol → file not read yet (read on first use)."""
        self.load_warnings: list[str] = []
        """The warnings of every file read so far, in reading order."""
        self.symbols = symbols
        self.source = source
        self._tables: dict[str, MetricTable] = {}
        self.adjusted_levels: dict[str, bool | pd.Timestamp] = {}
        self.filler_opens: dict[str, tuple[FillerSpan, ...]] = {}
        """Per symbol, the spans where an open equal to the previous close is filler."""

    @classmethod
    def load(
        cls,
        directory: Path,
        aliases: Mapping[str, Any],
        source: str = "shipped history",
        only: Iterable[str] | None = None,
        universe: Iterable[str] = (),
        *,
        lazy: bool = False,
    ) -> tuple[MarketData, list[str]]:
        """Index every CSV in `directory` (or only the stems in `only`); returns warnings too.

        Eager (the default) reads and checks every file now, so the warnings are complete;
        `lazy=True` reads a file when its symbol is first used (a command's cost then grows
        with what it reads, not with the history) and the returned warnings cover only the
        directory itself — see `load_warnings` and `read_all()`.
        """
        if only is None:
            paths = sorted(directory.glob("*.csv"))
        else:
            candidates = (directory / f"{stem}.csv" for stem in dict.fromkeys(only))
            paths = [path for path in candidates if path.is_file()]
        stems = {path.stem: path for path in paths}
        alias_book = SymbolBook.from_config(aliases, ())
        warnings: list[str] = []
        by_symbol: dict[str, Path] = {}
        for stem, path in stems.items():
            symbol = stem
            if stem.upper() in alias_book.aliases:
                symbol = alias_book.aliases[stem.upper()].symbol
                if symbol in stems:  # the Yahoo-named file wins over an alias-named one
                    warnings.append(
                        f"{path}: ignored — {symbol}.csv in the same directory "
                        f"serves {stem.upper()}"
                    )
                    continue
            by_symbol[symbol] = path
        known = set(by_symbol) | set(universe)
        market = cls({}, SymbolBook.from_config(aliases, known), source)
        market._pending = by_symbol
        market.adjusted_levels = read_adjusted_levels(directory / LEVELS_FILE)
        market.filler_opens = read_filler_opens(directory / LEVELS_FILE)
        if not lazy:
            market.read_all()
        return market, warnings + market.load_warnings

    def read_all(self) -> list[str]:
        """Read every file not read yet (checks them all); returns all files' warnings."""
        for symbol in sorted(self._pending, key=lambda name: str(self._pending[name])):
            self._read(symbol)
        return list(self.load_warnings)

    def _read(self, symbol: str) -> SymbolHistory | None:
        """The symbol's history, reading its file on first use."""
        if symbol not in self._histories:
            path = self._pending.pop(symbol, None)
            if path is None:
                return None
            history, file_warnings = load_symbol_file(path)
            self._histories[symbol] = history
            self.load_warnings.extend(file_warnings)
        return self._histories[symbol]

    @property
    def histories(self) -> Mapping[str, SymbolHistory]:
        """Every symbol's history (reads the files not read yet)."""
        self.read_all()
        return self._histories

    @property
    def read_symbols(self) -> list[str]:
        """The symbols whose files have been read so far, sorted."""
        return sorted(self._histories)

    @property
    def symbols_with_data(self) -> list[str]:
        """The Yahoo symbols that have a file (read or not), sorted."""
        return sorted({*self._histories, *self._pending})

    def levels_adjusted(self, symbol: str, session: pd.Timestamp) -> bool:
        """True when the symbol's printed levels on `session` are not the day's real prices."""
        rule = self.adjusted_levels.get(symbol, False)
        if isinstance(rule, pd.Timestamp):
            return session < rule
        return bool(rule)

    # ------------------------------------------------------------ tables

    def has(self, symbol: str) -> bool:
        """True if there is a file for this Yahoo symbol (without reading it)."""
        return symbol in self._histories or symbol in self._pending

    def table(self, symbol: str) -> MetricTable | None:
        """The symbol's metric table (file read and metrics computed on first use), or None
        without data."""
        if symbol not in self._tables:
            history = self._read(symbol)
            if history is None:
                return None
            self._tables[symbol] = compute_metrics(history, self.filler_opens.get(symbol, ()))
        return self._tables[symbol]

    def sessions(self, symbol: str) -> pd.DatetimeIndex:
        """Sessions on which the symbol has a close."""
        table = self.table(symbol)
        if table is None:
            return pd.DatetimeIndex([])
        return pd.DatetimeIndex(table.frame.index[table.frame["close"].notna()])

    def column(self, instrument: Instrument, metric: str, index: pd.DatetimeIndex) -> Column:
        """The metric aligned on `index`, the proxy filling sessions the index lacks."""
        values = np.full(len(index), np.nan)
        via_proxy = np.zeros(len(index), dtype=bool)
        primary = self.table(instrument.symbol)
        if primary is not None:
            values = primary.frame[metric].reindex(index).to_numpy(dtype=float, copy=True)
        if instrument.proxy and (proxy := self.table(instrument.proxy)) is not None:
            fill = proxy.frame[metric].reindex(index).to_numpy(dtype=float)
            use = np.isnan(values) & ~np.isnan(fill)
            values[use] = fill[use]
            via_proxy = use
        return Column(values, via_proxy)

    # ------------------------------------------------------------ snapshots

    def stage_moment(self, session: pd.Timestamp, stage: Stage) -> datetime:
        """The UTC moment of a stage of a session of the default market (NYSE as shipped)."""
        calendar = session_calendar(primary_market().calendar)
        if stage == "previous_close":
            return pd.Timestamp(
                calendar.previous_close(calendar.session_open(session))
            ).to_pydatetime()
        column = "open" if stage == "open" else "close"
        return pd.Timestamp(calendar.schedule.at[session, column]).to_pydatetime()

    def snapshot(self, session: pd.Timestamp, stage: Stage) -> Snapshot:
        """Every symbol as it stood at a stage of a session of the default market, from real
        prints only."""
        moment = self.stage_moment(session, stage)
        reference = session
        if stage == "previous_close":
            calendar = session_calendar(primary_market().calendar)
            reference = pd.Timestamp(calendar.previous_session(session))
        quotes = LazyQuotes(self.symbols_with_data, lambda s: self.quote_at(s, moment, reference))
        return Snapshot(moment, reference, quotes)

    def quote_at(
        self, symbol: str, moment: datetime, reference: pd.Timestamp
    ) -> Quote | Unavailable:
        """The symbol's latest real print at `moment` (its open or its close)."""
        table = self.table(symbol)
        if table is None:
            return Unavailable("no_data", f"no data for {symbol}")
        schedule = session_calendar(table.calendar).schedule
        stamp = pd.Timestamp(moment)
        opened = schedule.index[schedule["open"] <= stamp]
        if len(opened) == 0:
            return explain_unavailable(table, reference, "close")
        session = pd.Timestamp(opened[-1])
        if session > table.last_date or session not in table.frame.index:
            return explain_unavailable(table, min(session, reference), "close")
        # The market's own close: a session correction (CME 17:00 New York) before the calendar's.
        closes_at = pd.Timestamp(market_for_calendar(table.calendar).close_of(session))
        closed = bool(closes_at <= stamp)
        row = table.frame.loc[session]
        if pd.isna(row["close"]):
            return explain_unavailable(table, session, "close")
        state: Literal["open", "close"] = "close" if closed else "open"
        as_of = closes_at if closed else schedule.at[session, "open"]
        metrics = self._metrics(table, session, row, state)
        if session.normalize() != reference.normalize():
            stale = Unavailable(
                "stale",
                f"{symbol} last traded {session.date()} ({table.calendar} closed "
                f"on {reference.date()})",
            )
            metrics.update({name: stale for name in _MOVE_METRICS})
        return Quote(
            symbol=symbol,
            session=session,
            state=state,
            as_of=pd.Timestamp(as_of).to_pydatetime(),
            source=self.source,
            last=_number(row["close"] if closed else row["open"]),
            previous_close=_number(row["prev_close"]),
            open=_number(row["open"]),
            high=_number(row["high"]) if closed else None,
            low=_number(row["low"]) if closed else None,
            metrics=metrics,
            adjusted_levels=self.levels_adjusted(symbol, session),
        )

    def _metrics(
        self, table: MetricTable, session: pd.Timestamp, row: pd.Series, state: str
    ) -> dict[str, Reading]:
        values: dict[str, float] = {
            name: float(row[name])
            for name in ("pct", "gap", "intraday", "vol20", "z", "prev_close", *SPAN_METRICS)
        }
        values["last"] = float(row["close"])
        if state == "open":
            opening = float(row["open"])
            values["last"] = opening
            values["pct"] = values["gap"]
            values["intraday"] = 0.0 if not np.isnan(opening) else np.nan
            vol = values["vol20"]
            values["z"] = values["pct"] / vol if vol and not np.isnan(vol) else np.nan
            for name, sessions in SPAN_METRICS.items():
                values[name] = span_at_print(values["gap"], float(row[f"pre{sessions}"]))
        # At the open every move is the gap (or rests on the open print): explain it so.
        at_open = {"last": "open", "pct": "gap", "intraday": "open"}
        for name in SPAN_METRICS:
            at_open[name] = "gap" if np.isnan(values["gap"]) else name
        if state == "open":
            at_open["z"] = "gap" if np.isnan(values["gap"]) else "vol20"
        readings: dict[str, Reading] = {}
        for name, value in values.items():
            if not np.isnan(value):
                readings[name] = value
                continue
            metric = at_open.get(name, name) if state == "open" else name
            readings[name] = explain_unavailable(table, session, metric)
        return readings


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)
