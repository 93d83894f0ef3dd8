"""The configuration as one typed model: every table of `bot/defaults.toml` and `config.toml`.

Each table is a frozen pydantic model that refuses unknown keys (`extra="forbid"`) and takes
TOML's own types strictly: `"2"` is not a number, `1` is not `true`. The field defaults are
the built-in ones (a test pins them to `bot/defaults.toml`); the aliases and presets live in
`bot/defaults.toml` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

TierName = Literal["notice", "warning", "critical"]
MarketSession = Literal["pre", "regular", "post"]
TIER_ORDER: tuple[TierName, ...] = ("notice", "warning", "critical")
REGULAR: MarketSession = "regular"
SLACK_BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "users:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:read",
    "groups:read",
)


def _clock_time(text: str) -> str:
    hour, _, minute = text.partition(":")
    if not (len(hour) == len(minute) == 2 and hour.isdigit() and minute.isdigit()):
        raise ValueError(f'"{text}" is not a time like 06:30 (HH:MM, 24-hour)')
    if int(hour) > 23 or int(minute) > 59:
        raise ValueError(f'"{text}" is not a time of day (00:00 to 23:59)')
    return text


def _time_zone(name: str) -> str:
    import difflib
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f" — did you mean {close[0]}?" if close else " (an IANA name like Asia/Seoul)"
        raise ValueError(f'"{name}" is not a time zone{hint}') from None
    return name


ClockTime = Annotated[str, AfterValidator(_clock_time)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Seconds = Annotated[float, Field(gt=0)]
"""A duration that must be above zero."""
Margin = Annotated[float, Field(ge=0)]
"""A duration or amount that may be zero."""
Count = Annotated[int, Field(ge=1)]
Port = Annotated[int, Field(ge=0, le=65535)]
Text = Annotated[str, Field(min_length=1)]


class Table(BaseModel):
    """One TOML table: frozen, strict TOML types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


STORE_SCHEMES = ("sqlite:", "redis://", "rediss://", "unix://", "memory://")
"""The store URLs there is a store for (`bot/stores/__init__.py` picks it)."""


def _store_url(text: str) -> str:
    if text and not text.startswith(STORE_SCHEMES):
        scheme = text.split(":", 1)[0] if ":" in text else text
        raise ValueError(
            f'"{scheme}:" is not a store: use sqlite:///file.db, redis://host:port/db or'
            " memory:// (keeps nothing)"
        )
    return text


class StoreTable(Table):
    """`[store]`: where subscriptions, alerts and the outbox live (SPUTNIK_STORE_URL wins);
    `memory://` keeps them in the process only, for trying the bot."""

    url: Annotated[Text, AfterValidator(_store_url)] = "sqlite:///sputnik.db"


class DataTable(Table):
    """`[data]`: the price history and expert-view directories."""

    history_dir: Annotated[Path, Field(strict=False)] = PROJECT_ROOT / "data" / "history"
    views_dir: Annotated[Path, Field(strict=False)] = PROJECT_ROOT / "data" / "views"
    intraday_dir: Annotated[Path, Field(strict=False)] = PROJECT_ROOT / "data" / "intraday"


class Alias(Table):
    """One `[aliases]` entry: `DJI = { symbol = "^DJI", proxy = "DIA" }` (or `DJI = "^DJI"`)."""

    symbol: Text
    proxy: Text | None = None
    extended_proxy: Text | None = None
    name_ko: str = ""


class Tiers(Table):
    """Severity thresholds by tier name; a tier left out is not used."""

    notice: float | None = None
    warning: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _rising(self) -> Tiers:
        values = [v for v in (self.notice, self.warning, self.critical) if v is not None]
        if not values:
            raise ValueError("needs at least one of notice, warning, critical")
        if values != sorted(values):
            raise ValueError("thresholds must rise with severity (notice ≤ warning ≤ critical)")
        return self

    def as_dict(self) -> dict[str, float]:
        """{tier name: threshold} for the tiers that are set, lowest first."""
        return {name: value for name in TIER_ORDER if (value := getattr(self, name)) is not None}


class Preset(Table):
    """One `[presets.NAME]` table (the expressions are parsed when the presets load)."""

    expr: Text
    description_en: Text
    description_ko: Text
    magnitude: Text | None = None
    tiers: Tiers = Field(default_factory=lambda: Tiers(warning=0))
    topics: list[str] = Field(default_factory=list)
    lead: Text | None = None
    sessions: list[MarketSession] = Field(default_factory=lambda: [REGULAR], min_length=1)
    direction: Literal["down", "up"] = "down"
    """"up" for a rally: names and colours its tiers as good news."""

    def as_dict(self) -> dict[str, Any]:
        """The table as plain values (what the domain's preset loader reads)."""
        raw = self.model_dump(exclude_none=True)
        raw["tiers"] = self.tiers.as_dict()
        return raw


class ShockTable(Table):
    """`[shock]`: how loud a /shock card is, and the topics of a move no preset explains."""

    z_tiers: Tiers = Tiers(notice=2, warning=3, critical=4)
    move_tiers: Tiers = Tiers(notice=3, warning=5, critical=8)
    topics: list[str] = ["chip-demand", "valuation"]

    def tier_config(self) -> dict[str, dict[str, float]]:
        """`{"z_tiers": {...}, "move_tiers": {...}}` as the domain's `own_move_tier` reads it."""
        return {"z_tiers": self.z_tiers.as_dict(), "move_tiers": self.move_tiers.as_dict()}


class EpisodesTable(Table):
    """`[episodes]`: how a session that is no episode finds the closest earlier one by its
    price signature, and what "what chips did afterwards" follows."""

    signature: list[Text] = ["SOX", "NVDA", "SPX", "COMP", "DJI", "VIX"]
    max_distance: Annotated[float, Field(gt=0, strict=False)] = 3.0
    min_symbols: Count = 4
    chips: Text = "SOX"


class UniverseTable(Table):
    """`[universe]`: the symbols Sputnik watches."""

    symbols: list[Text] = []


class ReplayTable(Table):
    """`[replay]`: what a replay prints for a session, in order."""

    watch: list[Text] = []
    stand_ins: dict[str, list[Text]] = {}
    """Index alias → the ETFs that stand in for it outside the session in a replay: the
    first with intraday bars that day."""


class ChainTable(Table):
    """`[chain]`: what an early warning says of New York (the early-warning chain)."""

    exposed: list[Text] = []
    """The New York names an early warning ranks by how their session followed the
    alerting series over the shipped history (correlation of daily moves)."""
    exposed_top: Count = 3
    min_sessions: Count = 60
    """Paired sessions a correlation needs before a name is ranked."""


class DiscordTable(Table):
    """`[discord]` (the token comes from DISCORD_TOKEN only)."""

    gateway: bool = True
    shards: Literal["auto"] | None = None
    shard_count: Count | None = None
    shard_ids: list[Annotated[int, Field(ge=0)]] | None = None
    api_base: Text = "https://discord.com/api/v10"
    gateway_url: Text = "wss://gateway.discord.gg/"
    global_per_second: Count = 50
    global_margin_seconds: Margin = 0.05
    channel_messages: Count = 5
    channel_window_seconds: Seconds = 5.0
    pacer_margin_seconds: Margin = 0.1
    max_ratelimit_timeout: Seconds = 30.0
    send_timeout: Seconds = 45.0
    defer: list[str] = ["shock", "rules test"]
    defer_after_seconds: Margin = 1.5
    guild_ready_timeout: Margin = 2.0


class SlackTable(Table):
    """`[slack]` (tokens and secrets come from the environment only)."""

    mode: Literal["socket", "http"] = "socket"
    port: Port = 3000
    api_base: Text = "https://slack.com/api/"
    admins: list[str] = []
    short_commands: list[str] = ["shock"]
    channel_interval: Margin = 1.0
    timeout: Seconds = 10.0
    rate_limit_retries: Annotated[int, Field(ge=0)] = 2
    rate_limit_max_wait: Margin = 5.0
    history_budget_per_minute: Annotated[int, Field(ge=0)] = 20
    dedupe_lookback_seconds: Margin = 900.0
    redirect_uri: str = ""
    scopes: list[str] = list(SLACK_BOT_SCOPES)


VENDORS: dict[str, str] = {"yahoo": "bot.feeds.yahoo_vendor"}
"""Market-data vendor name (`[feed] vendor`) → the module that builds its adapters
(bot/feeds/vendors.py imports it only when chosen)."""


def _vendor_name(name: str) -> str:
    if name not in VENDORS:
        raise ValueError(f'"{name}" is not a market-data vendor (known: {", ".join(VENDORS)})')
    return name


class FeedSettings(Table):
    """`[feed]`: the market-data vendor, timings and limits of the live feed."""

    vendor: Annotated[str, AfterValidator(_vendor_name)] = "yahoo"
    stream: bool = True
    stream_url: Text = "wss://streamer.finance.yahoo.com/?version=2"
    poll_seconds: Seconds = 60.0
    custom_rules_refresh_seconds: Margin = 5.0
    safety_poll_seconds: Seconds = 300.0
    stream_gap_seconds: Seconds = 90.0
    stale_seconds: Seconds = 300.0
    stale_extended_seconds: Seconds = 1800.0
    rate_limit_backoff_seconds: Seconds = 60.0
    rate_limit_backoff_max_seconds: Seconds = 900.0
    premarket: bool = True
    cache_dir: Text = "data/history-live"

    @property
    def cache_path(self) -> Path:
        """`cache_dir`; a relative one lives under the project, beside data/history."""
        path = Path(self.cache_dir)
        return path if path.is_absolute() else PROJECT_ROOT / path


class SchedulerTable(Table):
    """`[scheduler]`: the market-calendar jobs (each market's own checks: `[markets.NAME]`)."""

    closing_check_delay_minutes: Annotated[int, Field(ge=0)] = 10
    claim_ttl_seconds: Seconds = 600.0


def _calendar_name(name: str) -> str:
    import exchange_calendars as xcals

    known = sorted(xcals.get_calendar_names(include_aliases=False))
    if name not in known:
        raise ValueError(
            f'"{name}" is not an exchange_calendars calendar (known: {", ".join(known)})'
        )
    return name


CalendarName = Annotated[str, AfterValidator(_calendar_name)]
Window = Annotated[list[ClockTime], Field(min_length=2, max_length=2)]
"""A local window ["HH:MM", "HH:MM"]."""


class MarketTable(Table):
    """`[markets.NAME]`: one market — its calendar, zone, symbols, benchmarks, extended
    hours, session corrections and scheduled checks."""

    calendar: CalendarName
    zone: TimeZone
    label: str = ""
    default: bool = False
    symbols: list[Text] = []
    suffixes: list[Text] = []
    benchmarks: list[Text] = []
    chart_benchmarks: list[Text] = []
    pre_market: Window | None = None
    post_market: Window | None = None
    session: Window | None = None
    checks: bool = True
    open_check: ClockTime | None = None
    close_checks: list[ClockTime] = []
    stale_seconds: Seconds | None = None
    """A regular-session quote older than this is stale (default: `[feed] stale_seconds`)."""
    stale_extended_seconds: Seconds | None = None
    """Pre- and post-market (default: `[feed] stale_extended_seconds`)."""
    freshness: str = ""
    """The series whose last session says how far the market's history reaches (doctor)."""
    quote: list[Text] = []
    """What `/quote` without arguments shows of this market (and /shock before New York's
    open)."""

    @model_validator(mode="after")
    def _windows_run_forward(self) -> MarketTable:
        for name in ("pre_market", "post_market"):
            window = getattr(self, name)
            if window is not None and window[0] >= window[1]:
                raise ValueError(f"{name} must end after it starts (got {window[0]}-{window[1]})")
        return self

    def to_market(self, name: str) -> Any:
        """The domain's `Market` of this table."""
        from datetime import time

        from bot.domain.markets import Market, SessionCorrection

        def clock(text: str) -> time:
            return time.fromisoformat(text)

        def window(value: list[str] | None) -> tuple[time, time] | None:
            return (clock(value[0]), clock(value[1])) if value is not None else None

        correction = None
        if self.session is not None:
            correction = SessionCorrection(clock(self.session[0]), clock(self.session[1]))
        return Market(
            name,
            self.calendar,
            self.zone,
            symbols=tuple(self.symbols),
            suffixes=tuple(self.suffixes),
            benchmarks=tuple(self.benchmarks),
            chart_benchmarks=tuple(self.chart_benchmarks),
            pre_market=window(self.pre_market),
            post_market=window(self.post_market),
            correction=correction,
            checks=self.checks,
            open_check=clock(self.open_check) if self.open_check else None,
            close_checks=tuple(clock(c) for c in self.close_checks),
            label=self.label or self.calendar,
            stale_seconds=self.stale_seconds,
            stale_extended_seconds=self.stale_extended_seconds,
            freshness=self.freshness,
            quote=tuple(self.quote),
        )


class DigestSettings(Table):
    """`[digest]`: daily digests."""

    default_time: ClockTime = "06:30"
    default_zone: TimeZone = "Asia/Seoul"
    grace_minutes: Margin = 120.0
    top_movers: Count = 5
    on_demand_minutes: Margin = 10.0
    """`/digest now` at most once per this many minutes per channel."""


class MetricsTable(Table):
    """`[metrics]`: Prometheus and /healthz (0: off)."""

    port: Port = 0


class LoggingTable(Table):
    """`[logging]`."""

    format: Literal["keyvalue", "json"] = "keyvalue"
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"


class DeliveryTable(Table):
    """`[delivery]`: the delivery worker's timeout and lease (real seconds)."""

    timeout_seconds: Seconds = 30.0
    lease_seconds: Seconds = 60.0


def _http_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError(f'"{text}" is not an http(s) URL')
    return text


class FeedEntry(Table):
    """One `[news] feeds` entry: `{ url = "https://…", publisher = "연합뉴스" }` (or the URL)."""

    url: Annotated[str, AfterValidator(_http_url)]
    publisher: str = ""


class NewsTable(Table):
    """`[news]`: headlines on cards, from Yahoo Finance and RSS/Atom feeds, within a budget."""

    enabled: bool = True
    yahoo: bool = True
    feeds: list[FeedEntry] = []
    budget_seconds: Seconds = 3.0
    cache_seconds: Seconds = 300.0
    lookback_hours: Seconds = 24.0
    max_items: Annotated[int, Field(ge=1, le=3)] = 3
    """Headlines on an alert, /shock or digest card (the card-layout contract: three at most)."""
    command_items: Annotated[int, Field(ge=1, le=10)] = 5
    fetch_timeout_seconds: Seconds = 10.0
    max_feed_bytes: Count = 5_000_000
    max_feed_items: Count = 200
    max_symbols: Count = 6
    problem_log_seconds: Seconds = 3600.0

    @field_validator("feeds", mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        """`"https://…"` is short for `{ url = "https://…" }`."""
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value


class SummaryTable(Table):
    """`[summary]`: the OpenAI-compatible model behind the synthesis (off unless both
    `base_url` and `model` are set; the key comes from SPUTNIK_SUMMARY_API_KEY only)."""

    base_url: str = ""
    model: str = ""
    languages: list[Literal["ko", "en"]] = Field(default=["ko", "en"], min_length=1)
    reserve_seconds: Margin = 1.5
    max_tokens: Count = 300
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0

    @property
    def enabled(self) -> bool:
        """On when both `base_url` and `model` are set."""
        return bool(self.base_url and self.model)


class Settings(Table):
    """The whole configuration: defaults, then `config.toml`, then the environment."""

    store: StoreTable = StoreTable()
    data: DataTable = DataTable()
    aliases: dict[str, Alias] = {}
    presets: dict[str, Preset] = {}
    shock: ShockTable = ShockTable()
    episodes: EpisodesTable = EpisodesTable()
    figure_names: dict[str, Text] = {}
    """How views name what the history holds (Nvidia → NVDA): cards show the project's own
    figure for a move or a close a view quotes."""
    universe: UniverseTable = UniverseTable()
    replay: ReplayTable = ReplayTable()
    chain: ChainTable = ChainTable()
    discord: DiscordTable = DiscordTable()
    slack: SlackTable = SlackTable()
    feed: FeedSettings = FeedSettings()
    scheduler: SchedulerTable = SchedulerTable()
    markets: dict[str, MarketTable] = {}
    digest: DigestSettings = DigestSettings()
    metrics: MetricsTable = MetricsTable()
    logging: LoggingTable = LoggingTable()
    delivery: DeliveryTable = DeliveryTable()
    news: NewsTable = NewsTable()
    news_names: dict[str, list[Text]] = {}
    """Company names a headline may use for an alias or symbol (`NVDA = ["Nvidia"]`)."""
    summary: SummaryTable = SummaryTable()

    @field_validator("aliases", mode="before")
    @classmethod
    def _alias_shorthand(cls, value: Any) -> Any:
        """`SOX = "^SOX"` is short for `SOX = { symbol = "^SOX" }`."""
        if isinstance(value, dict):
            return {k: {"symbol": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_default_market(self) -> Settings:
        defaults = [name for name, market in self.markets.items() if market.default]
        if self.markets and len(defaults) != 1:
            named = ", ".join(defaults) or "none"
            raise ValueError(f"markets: exactly one market sets default = true (found: {named})")
        return self

    def market_book(self) -> Any:
        """`[markets]` as the domain's `MarketBook` (the shipped us and korea without it)."""
        from bot.domain.markets import MarketBook, markets

        if not self.markets:
            return markets()
        default = next(name for name, market in self.markets.items() if market.default)
        return MarketBook([m.to_market(name) for name, m in self.markets.items()], default)

    @property
    def store_url(self) -> str:
        """`[store] url` (or SPUTNIK_STORE_URL)."""
        return self.store.url

    @property
    def history_dir(self) -> Path:
        """`[data] history_dir`."""
        return self.data.history_dir

    @property
    def views_dir(self) -> Path:
        """`[data] views_dir`."""
        return self.data.views_dir

    def alias_table(self) -> dict[str, dict[str, str]]:
        """`[aliases]` as plain mappings (what the domain's symbol book reads)."""
        return {name: alias.model_dump(exclude_none=True) for name, alias in self.aliases.items()}

    def watched_symbols(self) -> list[str]:
        """`[universe] symbols`, every market's `symbols`, and every alias's symbol, proxy
        and extended proxy."""
        symbols = list(self.universe.symbols)
        for market in self.markets.values():
            symbols += market.symbols
        for alias in self.aliases.values():
            symbols += [s for s in (alias.symbol, alias.proxy, alias.extended_proxy) if s]
        return list(dict.fromkeys(symbols))

    def preset_tables(self) -> dict[str, dict[str, Any]]:
        """`[presets]` as plain mappings, by name (what the domain's preset loader reads)."""
        return {name: preset.as_dict() for name, preset in self.presets.items()}
