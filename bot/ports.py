"""The few Protocols through which the outside world reaches the core.

Adapters (Discord, Slack, console, yfinance, SQLite, Redis) implement these; the core
imports nothing platform-specific.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from bot.domain.cards import Card
    from bot.domain.model import Channel, PrintKind
    from bot.domain.news import Headline, NewsBatch, NewsSubject
    from bot.domain.snapshot import Snapshot
    from bot.domain.symbols import Instrument
    from bot.settings import NewsTable, SummaryTable


class Clock(Protocol):
    """Source of the current time (timezone-aware UTC) for trading-time logic.

    Trigger windows, sessions, cooldowns, expiries and schedules read it; leases, send
    timeouts, back-off and "delayed" labels use real elapsed time instead, so an
    accelerated replay clock never expires a lease mid-send.
    """

    def now(self) -> datetime: ...


@runtime_checkable
class ReplayClock(Clock, Protocol):
    """A replay's accelerated clock: trading time `speed` times faster than real time.

    `now()` is the scheduled time of the run being made: the scheduler steps the clock from
    one due time to the next, each step paced to `virtual_start + (real time - real_start) *
    speed` (`VirtualClock`; the scheduler's `SteppedClock`). What the jobs read besides
    `now()`: the scheduler, the feed's age guard and the digest job scale their lateness and
    age limits by `speed` (a loop lag of milliseconds is minutes of virtual time); the
    digest job treats slots from `virtual_start` on as the replay's own; the runner calls
    `start()` once the sinks are up and warns when `real_start` (`--start-at`) has passed.
    """

    speed: float
    virtual_start: datetime
    real_start: float

    def start(self) -> None:
        """Start counting now (unless the start was fixed in advance)."""
        ...


def clock_speed(clock: Clock) -> float:
    """How many clock seconds pass per real second (1 for any clock but a replay's)."""
    return float(clock.speed) if isinstance(clock, ReplayClock) else 1.0


@dataclass(frozen=True)
class Delivered:
    """The platform accepted the message (`message_id` where it gives one)."""

    message_id: str | None = None


@dataclass(frozen=True)
class RetryAfter:
    """The platform asked us to wait: due again in `seconds`, no attempt counted."""

    seconds: float
    reason: str = "rate limited"


@dataclass(frozen=True)
class Gone:
    """The channel is unreachable for good (deleted, bot removed, no permission)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """The send failed: an attempt is counted and the item retried with back-off.

    `unknown_outcome` (a timeout: the platform may have accepted it) retries within two
    minutes, while the platform's dedupe window still holds.
    """

    error: str
    unknown_outcome: bool = False


DeliveryOutcome = Delivered | RetryAfter | Gone | Failed


class ChatSink(Protocol):
    """Sends one Card to one channel of one platform and says how it went.

    `idempotency_key` must travel with the message (Discord: the nonce with
    `enforce_nonce`; Slack: message metadata, checked before a resend) so that a resend
    after an unknown outcome does not show twice. `send` never raises for a platform
    answer: every answer maps to one `DeliveryOutcome`. The worker awaits `pace` before
    it renews the item's lease, and bounds only `send` by its timeout.
    """

    platform: str

    async def pace(self, channel: Channel) -> None:
        """Wait until the platform's budgets (global, per channel) allow one more send."""
        ...

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        """Deliver `card` to `channel`; the outcome, never an exception for a platform answer."""
        ...


@runtime_checkable
class TimedSink(ChatSink, Protocol):
    """A sink that may wait inside a send (discord.py sleeps through short rate limits):
    `send_timeout` bounds that wait, and the delivery worker's timeout must outlast it."""

    send_timeout: float


class PlatformRuntime(Protocol):
    """A chat platform's adapter as the composition root runs it (Discord, Slack).

    Each platform module under `bot/chat/` offers `build_runtime(settings, services,
    registry, env) -> PlatformRuntime | None` (None when its tokens are not set) and is
    registered by name in `bot/chat/platforms.py`.
    """

    @property
    def platform(self) -> str:
        """The platform's name (the key of its channels and outbox items)."""
        ...

    @property
    def sink(self) -> ChatSink:
        """Where the delivery worker sends this platform's messages."""
        ...

    async def start(self) -> None:
        """Connect (gateway, socket, HTTP server); returns once it is serving."""
        ...

    async def close(self) -> None:
        """Disconnect and release resources."""
        ...


MarketSession = Literal["pre", "regular", "post"]


@dataclass(frozen=True)
class Print:
    """One price print of one Yahoo symbol, as a feed saw it (`at`: the print's own time)."""

    symbol: str
    price: float
    at: datetime
    market_session: MarketSession
    source: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    previous_close: float | None = None
    basis_close: float | None = None
    """The previous regular close on this print's own price basis (a replayed intraday bar:
    the unadjusted close); when set, the print's move is measured against it."""


@dataclass(frozen=True)
class PrintBatch:
    """What one poll (or one stream frame) brought: prints, and why other symbols have none.

    `missing` maps a symbol to a reason code (`no_data`, `unknown_symbol`); `rate_limited`
    says the source refused us (the prints are then empty).
    """

    prints: Mapping[str, Print]
    fetched_at: datetime
    source: str
    missing: Mapping[str, str] = field(default_factory=dict)
    rate_limited: bool = False


PrintHandler = Callable[[PrintBatch], Awaitable[None]]


class QuoteFeed(Protocol):
    """The quotes port: a vendor's prints (Yahoo poll, Yahoo push stream, replay, a test's
    in-memory adapter) behind one interface; `[feed] vendor` picks the adapter.

    `fetch` is one round for every symbol (a poll: one `yf.download`); `stream` pushes
    batches to `on_batch` until `stop` is set (a poll-only feed returns at once).
    """

    name: str

    async def fetch(self, symbols: Sequence[str]) -> PrintBatch:
        """The latest print of every symbol, in one round of requests."""
        ...

    async def stream(
        self, symbols: Sequence[str], on_batch: PrintHandler, stop: asyncio.Event
    ) -> None:
        """Push prints as they come until `stop` is set; reconnects on its own."""
        ...


class NewsSource(Protocol):
    """One place headlines come from: Yahoo Finance (asked per symbol) or one RSS/Atom feed
    (one document for every symbol). `fetch` may raise: the desk logs it and leaves it out."""

    name: str
    per_symbol: bool

    async def fetch(self, symbol: str | None) -> list[Headline]:
        """The source's current items (about `symbol` when `per_symbol`)."""
        ...


class Summarizer(Protocol):
    """An OpenAI-compatible chat model that writes the card's two-sentence synthesis."""

    model: str

    async def complete(self, messages: Sequence[Mapping[str, str]], timeout: float) -> str:
        """The model's answer to `messages` within `timeout` seconds (raises on failure)."""
        ...


class NewsDesk(Protocol):
    """Headlines for cards, within a real-time budget, and the synthesis model
    (`bot/news/service.py`). Deadlines are the running loop's `time()`."""

    settings: NewsTable
    summary: SummaryTable

    @property
    def summarizing(self) -> bool:
        """True when a synthesis model is configured."""
        ...

    @property
    def source_names(self) -> list[str]:
        """Where headlines come from (`Yahoo Finance`, each feed's name)."""
        ...

    def subject(self, instrument: Instrument) -> NewsSubject:
        """The names a headline may call `instrument` by."""
        ...

    def deadline(self) -> float:
        """The loop time one budget from now."""
        ...

    async def gather(self, symbols: Sequence[str], *, deadline: float | None = None) -> NewsBatch:
        """Every headline the sources hold for `symbols`, as far as it is in by `deadline`,
        and which sources were down or late."""
        ...

    async def headlines(
        self,
        subjects: Sequence[NewsSubject],
        *,
        before: datetime,
        since: datetime | None,
        limit: int,
        deadline: float | None = None,
    ) -> NewsBatch:
        """Up to `limit` headlines about `subjects` published in `[since, before]`."""
        ...

    async def complete(self, messages: Sequence[Mapping[str, str]], *, deadline: float) -> str:
        """The synthesis model's answer within what is left of the budget."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


PriceFeed = QuoteFeed
"""The quotes port's earlier name."""


@dataclass(frozen=True)
class BarBatch:
    """Official daily bars per symbol: a date-indexed frame of open, high, low, close,
    adj_close and volume per symbol; `failures` says in one phrase what the vendor refused."""

    rows: Mapping[str, pd.DataFrame]
    source: str
    failures: str = ""


@runtime_checkable
class DailyBars(Protocol):
    """The daily-bars port: a vendor's official daily bars (the backfill of sessions the
    shipped history lacks, and the official bar a closing check evaluates)."""

    name: str
    bar_source: str
    """How a figure read from these bars names its source ("Yahoo daily bar")."""

    async def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> BarBatch:
        """The bars of every session from `start` to `end` (exclusive) per symbol."""
        ...


@dataclass(frozen=True)
class FeedTick:
    """One evaluated moment of the live join (prints + history → snapshot): the fields of
    the evaluate job's `PrintTick`, plus the source."""

    snapshot: Snapshot
    kind: PrintKind
    changed: frozenset[str]
    stale: frozenset[str]
    source: str
    expires_at: datetime | None = None


class LiveQuotes(Protocol):
    """The live join as the jobs see it: polls, forced checks and the official daily bars
    of a closed session, whatever vendor sits behind it."""

    symbols: list[str]
    clock: Clock

    async def poll_tick(
        self,
        kind: PrintKind | None = None,
        *,
        force: bool = False,
        symbols: Sequence[str] | None = None,
    ) -> FeedTick | None:
        """Fetch when due (or `force`d), then evaluate the batch."""
        ...

    async def close_tick(
        self, bars: DailyBars, session: pd.Timestamp, symbols: Sequence[str], now: datetime
    ) -> FeedTick | None:
        """Append the session's daily bars, then evaluate its official closes ("close")."""
        ...

    async def catch_up(self, bars: DailyBars, symbols: Sequence[str] | None = None) -> None:
        """Append the closed sessions the history lacks (every symbol by default)."""
        ...


# The Store protocol is declared in bot/stores/port.py and re-exported here.
from bot.stores.port import Store as Store  # noqa: E402
