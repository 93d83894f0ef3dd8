"""Markets and the one calendar API: where any configured market's day stands at a moment.

A `Market` is a piece of configuration (`[markets.NAME]`): its exchange_calendars calendar,
its zone, its symbols, its benchmarks, its extended-hours windows and its scheduled checks.
The regular session, lunch breaks, early closes and holidays come from the calendar; the
pre- and post-market windows (which exchange_calendars does not know) from the config.
The process's markets are installed once at start (`install_markets`); until then the
built-in markets serve, as shipped in `bot/defaults.toml` (`us` XNYS, `korea` XKRX, and
`tokyo`, `europe`, `xetra`, `cme`, `fx` for the history of their symbols).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.rules.parser import metric_refs

if TYPE_CHECKING:
    from bot.domain.rules.presets import Rule

Phase = Literal["pre", "regular", "break", "post", "closed"]
PrintSession = Literal["pre", "regular", "post"]


@dataclass(frozen=True)
class SessionCorrection:
    """Session times the calendar gets wrong for the data (local clock, `open` the evening
    before when `open > close`: CME equity futures 18:00 → 17:00 New York)."""

    open: time
    close: time


@dataclass(frozen=True)
class Market:
    """One market as configuration: what the calendar API and the scheduler read."""

    name: str
    calendar: str
    zone: str
    symbols: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    """What cards and digests compare against (aliases; SOX first as shipped)."""
    chart_benchmarks: tuple[str, ...] = ()
    """What alert and /shock charts draw beside their subject."""
    pre_market: tuple[time, time] | None = None
    post_market: tuple[time, time] | None = None
    correction: SessionCorrection | None = None
    checks: bool = True
    """False: no scheduled checks for this market."""
    open_check: time | None = None
    """Local time of the opening check (the open + 1 min); None: no opening check."""
    close_checks: tuple[time, ...] = ()
    """The local closes (regular and early) its closing check follows, + the delay."""
    label: str = ""
    """How messages name it ("NYSE"); the calendar name when empty."""
    stale_seconds: float | None = None
    """A regular-session quote older than this is stale (None: `[feed] stale_seconds`)."""
    stale_extended_seconds: float | None = None
    """The limit for pre- and post-market quotes (None: `[feed] stale_extended_seconds`)."""
    freshness: str = ""
    """The series whose last session says how far this market's history reaches (doctor)."""
    quote: tuple[str, ...] = ()
    """What `/quote` without arguments shows of this market, and what `/shock` of a New York
    session lists of it before New York's open (aliases or symbols)."""

    def trades(self, symbol: str) -> bool:
        """True when `symbol` is listed here (by name or by its Yahoo suffix)."""
        upper = symbol.upper()
        return upper in {s.upper() for s in self.symbols} or upper.endswith(
            tuple(s.upper() for s in self.suffixes)
        )

    # ------------------------------------------------------------ the calendar API

    def session_of(self, moment: datetime) -> pd.Timestamp | None:
        """The session `moment` belongs to: its local date when that date is a session."""
        local = pd.Timestamp(moment).tz_convert(self.zone)
        fix = self.correction
        if fix is not None and fix.open > fix.close and local.time() >= fix.open:
            local = local + pd.Timedelta(days=1)  # the evening opens the next session
        return _session_on(self.calendar, local.date())

    def is_session(self, day: pd.Timestamp) -> bool:
        """True when the market trades a session dated `day` (its own calendar)."""
        return _session_on(self.calendar, pd.Timestamp(day).date()) is not None

    def open_of(self, session: pd.Timestamp) -> datetime:
        """The session's regular open (UTC)."""
        return self._bounds(session)[0]

    def close_of(self, session: pd.Timestamp) -> datetime:
        """The session's regular close (UTC; early closes included)."""
        return self._bounds(session)[1]

    def break_of(self, session: pd.Timestamp) -> tuple[datetime, datetime] | None:
        """The session's lunch break (XTKS), or None."""
        return self._bounds(session)[2]

    def _bounds(
        self, session: pd.Timestamp
    ) -> tuple[datetime, datetime, tuple[datetime, datetime] | None]:
        opens, closes, pause = _schedule_row(self.calendar, pd.Timestamp(session).date())
        if self.correction is not None:
            day = pd.Timestamp(session).date()
            start_day = (
                day - timedelta(days=1) if self.correction.open > self.correction.close else day
            )
            opens = _at(start_day, self.correction.open, self.zone)
            closes = _at(day, self.correction.close, self.zone)
        return opens, closes, pause

    def phase(self, moment: datetime) -> Phase:
        """pre, regular, break, post or closed at `moment` (the windows from config)."""
        session = self.session_of(moment)
        if session is None:
            return "closed"
        opens, closes, pause = self._bounds(session)
        if moment < opens:
            local = pd.Timestamp(moment).tz_convert(self.zone).time()
            return "pre" if self.pre_market and local >= self.pre_market[0] else "closed"
        if moment < closes:
            if pause is not None and pause[0] <= moment < pause[1]:
                return "break"
            return "regular"
        local = pd.Timestamp(moment).tz_convert(self.zone).time()
        return "post" if self.post_market and local < self.post_market[1] else "closed"

    def judged_phase(self, moment: datetime, grace: timedelta) -> Phase:
        """The phase a rule on this market is judged in at `moment`: its phase, except that
        a print at the close, or up to `grace` after it (the closing check's delay), still
        belongs to the regular session that close ended (Tokyo's 15:30 close print)."""
        phase = self.phase(moment)
        if phase in ("closed", "post"):
            closed = self.last_closed_session(moment)
            if closed is not None and timedelta(0) <= moment - closed[1] <= grace:
                return "regular"
        return phase

    def print_session(self, moment: datetime) -> PrintSession:
        """Which session a print at `moment` is labelled with: regular inside the session,
        pre before a session's open, post otherwise (after the close or on a closed day)."""
        session = self.session_of(moment)
        if session is None:
            return "post"
        opens, closes, _ = self._bounds(session)
        if moment < opens:
            return "pre"
        return "regular" if moment < closes else "post"

    def current_session(self, moment: datetime) -> pd.Timestamp | None:
        """The session in progress at `moment` (its pre-market included), else the last one
        that opened: the session a quote of this market must belong to, to be current."""
        session = self.session_of(moment)
        if session is not None:
            opens = self.open_of(session)
            if self.pre_market is not None:
                local = pd.Timestamp(opens).tz_convert(self.zone)
                opens = _at(local.date(), self.pre_market[0], self.zone)
            if moment >= opens:
                return session
        closed = self.last_closed_session(moment)
        return closed[0] if closed is not None else None

    def trading_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds from `start` to `end`, less the part of a lunch break between them (how
        old a quote is in trading time: Tokyo's 11:29 print is a minute old at 12:31)."""
        seconds = (end - start).total_seconds()
        session = self.session_of(start)
        pause = self.break_of(session) if session is not None else None
        if pause is not None:
            overlap = (min(end, pause[1]) - max(start, pause[0])).total_seconds()
            seconds -= max(0.0, overlap)
        return seconds

    def last_closed_session(self, now: datetime) -> tuple[pd.Timestamp, datetime] | None:
        """The latest session whose close is at or before `now`, and that close (UTC)."""
        closes = _column(self.calendar, "close")
        position = int(closes.searchsorted(pd.Timestamp(now), side="right"))
        if position == 0:
            return None
        session = pd.Timestamp(closes.index[position - 1])
        return session, self.close_of(session)

    def stage_at(self, moment: datetime) -> Literal["open", "close"] | None:
        """`close` or `open` when `moment` is one of this market's closes or opens (Tokyo's
        15:30 print is its close, Amsterdam's 09:00 its open); None between them."""
        closed = self.last_closed_session(moment)
        if closed is not None and closed[1] == moment:
            return "close"
        session = self.session_of(moment)
        return "open" if session is not None and self.open_of(session) == moment else None

    def next_open(self, moment: datetime) -> datetime | None:
        """The first regular open strictly after `moment` (None past the calendar)."""
        stamp = pd.Timestamp(moment).floor("min")
        sessions = _column(self.calendar, "open").index
        # A session opens at most a day before its date (a corrected evening open).
        position = int(sessions.searchsorted(stamp.tz_localize(None).normalize()))
        for session in sessions[position : position + 3]:
            opens = self.open_of(pd.Timestamp(session))
            if opens > stamp:
                return opens
        return None

    def close_bounds(self, sessions: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """UTC closes of each session's previous session and of the session itself
        (vectorised, for windows of sessions)."""
        closes = _column(self.calendar, "close")
        positions = closes.index.get_indexer(sessions)
        ends = closes.iloc[positions].to_numpy()
        starts = closes.iloc[np.maximum(positions - 1, 0)].to_numpy()
        return starts, ends

    def session_moments(
        self, sessions: pd.DatetimeIndex, stage: Literal["open", "close"]
    ) -> pd.DatetimeIndex:
        """UTC regular opens or closes of many sessions at once (corrections applied)."""
        days = pd.DatetimeIndex(sessions).normalize()
        fix = self.correction
        if fix is None:
            column = _column(self.calendar, stage)
            return pd.DatetimeIndex(column.reindex(days)).tz_convert("UTC").as_unit("ns")
        clock = fix.open if stage == "open" else fix.close
        if stage == "open" and fix.open > fix.close:
            days = days - pd.Timedelta(days=1)
        local = days + pd.Timedelta(hours=clock.hour, minutes=clock.minute)
        return local.tz_localize(self.zone).tz_convert("UTC").as_unit("ns")

    def previous_session(self, session: pd.Timestamp) -> pd.Timestamp:
        """The session before `session`."""
        return pd.Timestamp(session_calendar(self.calendar).previous_session(session))

    def reference_session(self, moment: datetime) -> pd.Timestamp:
        """The session a moment is watched for: today's when today is one, else the last."""
        local_day = pd.Timestamp(moment).tz_convert(self.zone).date()
        return _reference(self.calendar, local_day)


def _at(day: date, clock: time, zone: str) -> datetime:
    return (
        pd.Timestamp(datetime.combine(day, clock))
        .tz_localize(zone)
        .tz_convert("UTC")
        .to_pydatetime()
    )


@functools.lru_cache(maxsize=4096)
def _session_on(calendar_name: str, local_day: date) -> pd.Timestamp | None:
    day = pd.Timestamp(local_day)
    calendar = session_calendar(calendar_name)
    if day < calendar.first_session or day > calendar.last_session:
        return None
    return day if calendar.is_session(day) else None


@functools.lru_cache(maxsize=4096)
def _schedule_row(
    calendar_name: str, day: date
) -> tuple[datetime, datetime, tuple[datetime, datetime] | None]:
    calendar = session_calendar(calendar_name)
    row = calendar.schedule.loc[pd.Timestamp(day)]
    pause = None
    if calendar.has_break and "break_start" in row and not pd.isna(row["break_start"]):
        pause = (
            pd.Timestamp(row["break_start"]).to_pydatetime(),
            pd.Timestamp(row["break_end"]).to_pydatetime(),
        )
    return (
        pd.Timestamp(row["open"]).to_pydatetime(),
        pd.Timestamp(row["close"]).to_pydatetime(),
        pause,
    )


@functools.cache
def _column(calendar_name: str, column: str) -> pd.Series:
    return session_calendar(calendar_name).schedule[column]


@functools.lru_cache(maxsize=512)
def _reference(calendar_name: str, local_day: date) -> pd.Timestamp:
    calendar = session_calendar(calendar_name)
    day = pd.Timestamp(local_day)
    if calendar.is_session(day):
        return day
    return pd.Timestamp(calendar.date_to_session(day, direction="previous"))


US = Market(
    "us",
    "XNYS",
    "America/New_York",
    benchmarks=("SOX", "SPX", "COMP", "DJI"),
    chart_benchmarks=("SOX", "DJI"),
    pre_market=(time(4, 0), time(9, 30)),
    post_market=(time(16, 0), time(20, 0)),
    open_check=time(9, 31),
    close_checks=(time(13, 0), time(16, 0)),
    label="NYSE",
    freshness="^SOX",
    quote=("SOX", "NVDA", "SPX", "COMP", "DJI"),
)
KOREA = Market(
    "korea",
    "XKRX",
    "Asia/Seoul",
    symbols=("^KS11",),
    suffixes=(".KS", ".KQ"),
    benchmarks=("SOX", "SPX", "COMP", "DJI"),
    chart_benchmarks=("SOX", "DJI"),
    quote=("KOSPI", "HYNIX", "SAMSUNG"),
    open_check=time(9, 1),
    close_checks=(time(15, 30),),
    label="KRX",
    freshness="000660.KS",
)
# The round-the-clock markets (issue 18), as shipped in bot/defaults.toml.
TOKYO = Market(
    "tokyo",
    "XTKS",
    "Asia/Tokyo",
    symbols=("^N225",),
    suffixes=(".T",),
    benchmarks=("N225",),
    chart_benchmarks=("N225", "SOX"),
    quote=("N225", "TEL", "ADVANTEST", "SOFTBANK"),
    open_check=time(9, 1),
    close_checks=(time(15, 0), time(15, 30)),
    label="TSE",
    freshness="^N225",
)
EUROPE = Market(
    "europe",
    "XAMS",
    "Europe/Amsterdam",
    symbols=("^STOXX50E",),
    suffixes=(".AS",),
    benchmarks=("SX5E", "DAX"),
    chart_benchmarks=("SX5E", "SOX"),
    quote=("ASML_AS", "SX5E", "DAX"),
    open_check=time(9, 1),
    close_checks=(time(17, 30),),
    label="Euronext",
    freshness="ASML.AS",
)
XETRA = Market(
    "xetra", "XETR", "Europe/Berlin", ("^GDAXI",), checks=False, label="Xetra", freshness="^GDAXI"
)
CME = Market(
    "cme",
    "CMES",
    "America/Chicago",
    symbols=("NQ=F", "ES=F", "YM=F", "RTY=F"),
    benchmarks=("ES", "YM"),
    chart_benchmarks=("ES", "YM"),
    quote=("NQ", "ES", "YM", "RTY"),
    correction=SessionCorrection(time(17, 0), time(16, 0)),
    checks=False,
    label="CME",
    freshness="NQ=F",
)
FX = Market("fx", "24/5", "UTC", ("JPY=X",), checks=False, label="FX", freshness="JPY=X")


class MarketBook:
    """The configured markets: which one a symbol trades on, by name or by calendar."""

    def __init__(self, markets: Iterable[Market], default: str) -> None:
        self.markets: dict[str, Market] = {market.name: market for market in markets}
        if default not in self.markets:
            raise ValueError(f"default market {default!r} is not configured")
        self.default = self.markets[default]

    def __iter__(self) -> Iterator[Market]:
        return iter(self.markets.values())

    def for_symbol(self, symbol: str) -> Market:
        """The market `symbol` trades on (the default market when none lists it)."""
        for market in self.markets.values():
            if market is not self.default and market.trades(symbol):
                return market
        return self.default

    def common_market(self, symbols: Iterable[str]) -> Market | None:
        """The one market all of `symbols` trade on (None when they span several)."""
        found = {self.for_symbol(symbol).name for symbol in symbols}
        return self.markets[found.pop()] if len(found) == 1 else None

    def rule_market(self, rule: Rule) -> Market:
        """The market a rule watches: the one every symbol it reads trades on (the default
        market when they span several)."""
        found = self.common_market(ref.instrument.symbol for ref in metric_refs(rule.tree))
        return found or self.default

    def judged_phase(self, rule: Rule, moment: datetime, grace: timedelta) -> Phase | None:
        """The phase `rule` is judged in: its own market's (see `Market.judged_phase`) when
        every symbol it reads trades on one market besides the default one (Tokyo's rules in
        Tokyo's hours); None: the default market's, the print's own."""
        market = self.rule_market(rule)
        if market is self.default:
            return None
        return market.judged_phase(moment, grace)

    def watched_session(self, market: Market, moment: datetime) -> pd.Timestamp | None:
        """The session a quote of `market` must belong to at `moment` to count as current.

        The default market's: the session the moment is watched for (`reference_session`).
        Another market's: its session in progress or its last one, unless that closed
        before the default market's previous close (Seoul on Seollal: its last session is
        older than the day New York watches; None then, so none of its quotes is current).
        """
        primary = self.default
        watched = primary.reference_session(moment)
        if market is primary:
            return watched
        session = market.current_session(moment)
        if session is None:
            return None
        before = primary.close_of(primary.previous_session(watched))
        return session if market.close_of(session) > before else None

    def by_calendar(self, calendar: str) -> Market:
        """The first market on calendar `calendar` (a bare one when none is configured)."""
        for market in self.markets.values():
            if market.calendar == calendar:
                return market
        zone = str(session_calendar(calendar).tz)
        return Market(calendar.lower(), calendar, zone, label=calendar)


_BOOK = MarketBook((US, KOREA, TOKYO, EUROPE, XETRA, CME, FX), "us")


def install_markets(book: MarketBook) -> None:
    """Make `book` the process's markets (bootstrap, from `[markets]`)."""
    global _BOOK
    _BOOK = book


def markets() -> MarketBook:
    """The process's markets."""
    return _BOOK


def market_for_symbol(symbol: str) -> Market:
    """The market a Yahoo symbol trades on."""
    return _BOOK.for_symbol(symbol)


def primary_market() -> Market:
    """The default market (the one a session date names, `us` as shipped)."""
    return _BOOK.default


def calendar_for_symbol(symbol: str) -> str:
    """The calendar a Yahoo symbol trades on ("XKRX" for `.KS`/`.KQ` as shipped, else "XNYS")."""
    return _BOOK.for_symbol(symbol).calendar


def exchange_zone_for_symbol(symbol: str) -> str:
    """The zone of the exchange a Yahoo symbol trades on."""
    return _BOOK.for_symbol(symbol).zone


def market_for_calendar(calendar: str) -> Market:
    """The configured market on `calendar` (a bare one for a calendar no market uses)."""
    return _BOOK.by_calendar(calendar)
