"""Sessions across markets: each market's session beside the home market's session it leads into.

A session of one market *leads into* the first session of the home market (New York as
shipped) whose print at the same stage comes at or after its own: read at the close, Tokyo's
and Seoul's Monday (closing 01:30 New York) and Amsterdam's Monday (11:30) lead into New York's
Monday, while CME's session that ends 17:00 New York on a Monday leads into New York's Tuesday
(at 16:00 on Monday its close had not happened yet). Read at the open, CME's Monday session,
open since Sunday 18:00, leads into New York's Monday. So a rule that mixes markets never reads
a figure before it was printed. Everything comes from the calendar API (`Market`): no market
is named here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bot.domain.calendars import session_calendar
from bot.domain.markets import Market

Stage = Literal["close", "open"]


@dataclass(frozen=True)
class Pairing:
    """How one market's sessions were read beside the home market's."""

    market: Market
    home: Market
    stage: Stage
    labels: tuple[str, ...]
    """The rule's instruments that trade on `market`."""
    example: tuple[pd.Timestamp, pd.Timestamp] | None = None
    """The last pair read: (the market's session, the home session it led into)."""


def market_name(market: Market) -> str:
    """How outputs name a market (its label, else its calendar)."""
    return market.label or market.calendar


@functools.lru_cache(maxsize=16)
def _home_moments(home: Market, stage: Stage) -> tuple[pd.DatetimeIndex, np.ndarray]:
    sessions = pd.DatetimeIndex(session_calendar(home.calendar).sessions).tz_localize(None)
    return sessions, home.session_moments(sessions, stage).asi8


def sessions_led_into(
    market: Market,
    sessions: pd.DatetimeIndex,
    home: Market,
    stage: Stage = "close",
    home_stage: Stage | None = None,
) -> pd.DatetimeIndex:
    """For each of `market`'s sessions, the home session it leads into: the first whose
    `home_stage` print (default: the same stage) comes at or after its own `stage` print
    (NaT past the home calendar's end)."""
    if len(sessions) == 0:
        return pd.DatetimeIndex([])
    home_sessions, home_moments = _home_moments(home, home_stage or stage)
    moments = market.session_moments(pd.DatetimeIndex(sessions), stage).asi8
    positions = np.searchsorted(home_moments, moments, side="left")
    found = positions < len(home_sessions)
    values = np.full(len(sessions), np.datetime64("NaT"), dtype="datetime64[ns]")
    values[found] = home_sessions.to_numpy(dtype="datetime64[ns]")[positions[found]]
    return pd.DatetimeIndex(values)


def latest_leading_into(
    market: Market,
    sessions: pd.DatetimeIndex,
    home: Market,
    rows: pd.DatetimeIndex,
    stage: Stage = "close",
) -> np.ndarray:
    """For each home session in `rows`, the position in `sessions` of the latest of `market`'s
    sessions that leads into it (-1 when none does: that market was closed in between)."""
    into = rows.get_indexer(sessions_led_into(market, sessions, home, stage))
    taken = np.full(len(rows), -1, dtype=np.int64)
    keep = into >= 0
    np.maximum.at(taken, into[keep], np.flatnonzero(keep))
    return taken


def take(values: np.ndarray, positions: np.ndarray, fill: object = np.nan) -> np.ndarray:
    """`values` at `positions`, `fill` where a position is -1."""
    out = np.full(len(positions), fill, dtype=values.dtype)
    found = positions >= 0
    out[found] = values[positions[found]]
    return out
