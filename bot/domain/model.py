"""The domain model: channels, subscriptions, trigger policies, alert events, outbox items.

Values only (no I/O): the durations and trigger policies users type, a channel's zone,
the identities of prints, alerts and messages, and the outbox's retry policy. The stores
(through the role ports of `bot/ports/store.py`) persist them; the domain, handlers, jobs and
chat adapters read them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

Language = Literal["ko", "en"]
SubscriptionKind = Literal["alert", "digest"]
PolicyKind = Literal["once_per_session", "once", "cooldown"]
OutboxState = Literal["pending", "parked", "done"]
MessageKind = Literal["alert", "digest", "notice"]
PrintKind = Literal["pre", "open", "intraday", "close", "post"]

_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION_SECONDS = 365 * 86400
"""The longest duration (cooldown) accepted: 365 days."""


def stamp(moment: datetime) -> str:
    """Fixed-width UTC ISO text: sorts as text in the order of time (stored keys, Lua)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (safe to log and print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `30m`, `2h`, `1d`, `1h30m` or a bare number of seconds."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        parts = [(cleaned, "s")]
    else:
        parts = _DURATION_PART.findall(cleaned)
        if not parts or _DURATION_PART.sub("", cleaned).strip():
            raise ValueError(f"not a duration: {text!r} (try 30m, 2h or 1d)")
    if any(len(number.lstrip("0")) > 12 for number, _ in parts):
        check_duration(MAX_DURATION_SECONDS + 1, text)  # too many digits to be sensible
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    check_duration(seconds, text)
    return seconds


def check_duration(seconds: int, text: str | None = None) -> None:
    """Refuse a duration over 365 days (`MAX_DURATION_SECONDS`) with a clear ValueError."""
    if seconds > MAX_DURATION_SECONDS:
        short = None if text is None else text.strip()
        if short is not None and len(short) > 24:
            short = short[:20] + "..."
        shown = repr(short) if short is not None else f"of {seconds} s"
        raise ValueError(f"duration {shown} is longer than 365 days")


def format_duration(seconds: int) -> str:
    """The shortest text `parse_duration` reads back as `seconds`."""
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, order=True)
class ChannelRef:
    """One chat channel: platform + workspace (Slack team / Discord guild) + channel id."""

    platform: str
    workspace_id: str
    channel_id: str

    def __post_init__(self) -> None:
        for name in ("platform", "workspace_id"):
            if ":" in getattr(self, name):
                raise ValueError(f"{name} must not contain ':'")
        if not (self.platform and self.channel_id):
            raise ValueError("platform and channel_id are required")

    @property
    def key(self) -> str:
        """Stable string key, e.g. `discord:1234:5678`."""
        return f"{self.platform}:{self.workspace_id}:{self.channel_id}"

    @classmethod
    def from_key(cls, key: str) -> ChannelRef:
        """Inverse of `key`."""
        platform, workspace_id, channel_id = key.split(":", 2)
        return cls(platform, workspace_id, channel_id)


LANGUAGE_ZONES: dict[str, str] = {"ko": "Asia/Seoul", "en": "UTC"}
"""The zone a channel without one of its own takes from its language."""


def language_zone(language: str) -> str:
    """The default zone of a channel in `language`."""
    return LANGUAGE_ZONES.get(language, "UTC")


@dataclass(frozen=True)
class Snooze:
    """A channel's alerts paused until `until` (the Clock's trading time, UTC).

    Alerts that come meanwhile are held and summarised in one message when the snooze ends,
    or dropped (`drop`), as the channel chose.
    """

    until: datetime
    drop: bool = False

    def active(self, now: datetime) -> bool:
        """True while `now` is before the end."""
        return now < self.until


@dataclass(frozen=True)
class Channel:
    """A channel the bot talks to, with its language, time zone and activity."""

    ref: ChannelRef
    language: Language = "en"
    timezone: str | None = None
    """The zone chosen with `/timezone`; None: the channel follows its language's zone."""
    active: bool = True
    inactive_reason: str | None = None
    mention: str | None = None
    """Who alerts ping (a Discord role id, a Slack user group or `@here`); nobody if None."""
    snooze: Snooze | None = None
    """Alerts paused (`/snooze`); None: not snoozed."""
    watchlist: tuple[str, ...] | None = None
    """The symbols the channel's digest covers (`/watchlist`); None: the configured ones."""

    def snoozed(self, now: datetime) -> bool:
        """True while a snooze is on at `now`."""
        return self.snooze is not None and self.snooze.active(now)

    @property
    def zone_name(self) -> str:
        """The zone every time on this channel's cards is shown in: its own, else its
        language's (Asia/Seoul for Korean, UTC for English)."""
        return self.timezone or language_zone(self.language)


@dataclass(frozen=True)
class TriggerPolicy:
    """When a rule may alert a channel again (TradingView's trigger options)."""

    kind: PolicyKind = "once_per_session"
    cooldown_seconds: int = 0

    def __post_init__(self) -> None:
        if self.kind == "cooldown" and self.cooldown_seconds <= 0:
            raise ValueError("a cooldown needs a positive duration")
        if self.cooldown_seconds > MAX_DURATION_SECONDS:
            raise ValueError("a cooldown can be at most 365 days")

    @classmethod
    def parse(cls, text: str) -> TriggerPolicy:
        """Read `once`, `session` / `once_per_session`, `cooldown=30m` (or `cooldown 2h`)."""
        cleaned = text.strip().lower()
        if cleaned in ("", "session", "once_per_session", "once-per-session"):
            return cls()
        if cleaned == "once":
            return cls(kind="once")
        match = re.fullmatch(r"cooldown\s*[=: ]\s*(.+)", cleaned)
        if match:
            return cls(kind="cooldown", cooldown_seconds=parse_duration(match.group(1)))
        raise ValueError(f"unknown trigger policy {text!r} (once, session, cooldown=30m)")

    def text(self) -> str:
        """The form `parse` reads back."""
        if self.kind == "cooldown":
            return f"cooldown={format_duration(self.cooldown_seconds)}"
        return "once" if self.kind == "once" else "session"


@dataclass(frozen=True)
class Subscription:
    """A channel's subscription to an alert rule (preset or custom) or to a digest."""

    channel: ChannelRef
    rule_id: str
    kind: SubscriptionKind = "alert"
    expression: str | None = None
    """Rule expression text, for custom rules only."""
    policy: TriggerPolicy = field(default_factory=TriggerPolicy)
    expires: date | None = None
    """Last day (inclusive, UTC) on which the subscription alerts."""
    digest_time: str | None = None
    """`HH:MM` for digests."""
    digest_zone: str | None = None
    muted: bool = False
    """Silenced by `/mute`: kept, but it alerts nobody until `/unmute`."""

    def __post_init__(self) -> None:
        if "|" in self.rule_id or not self.rule_id:
            raise ValueError("rule_id must be non-empty and contain no '|'")

    def expired(self, now: datetime) -> bool:
        """True once `now` (UTC) is past the expiry date."""
        return self.expires is not None and now.date() > self.expires


@dataclass(frozen=True)
class AlertEvent:
    """One firing of a rule: what the renderer needs later, as JSON-serialisable figures.

    Language-neutral: `payload` holds the figures the rule read (with the proxies named),
    never rendered text. `print_id` names the print it fired on; the alerts of one print
    for one channel travel as one message.
    """

    rule_id: str
    session: date
    severity_rank: int
    severity: str
    fired_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    print_id: str = ""
    """The print's identity, e.g. `2025-01-27T21:00:00+00:00/close` (see `print_id`)."""
    print_kind: PrintKind = "close"
    expires_at: datetime | None = None
    """Trading time (the Clock's) after which an undelivered alert is stale: the next open."""

    @property
    def alert_id(self) -> str:
        """Identity of this firing: rule, session, tier and firing time."""
        stamp = self.fired_at.strftime("%Y%m%dT%H%M%S%f")
        return f"{self.rule_id}|{self.session.isoformat()}|{self.severity_rank}|{stamp}"


def idempotency_key(alert_id: str, channel: ChannelRef) -> str:
    """24 hex chars per (alert or print, channel); fits Discord's 25-char message nonce."""
    digest = hashlib.blake2b(f"{alert_id}\n{channel.key}".encode(), digest_size=12)
    return digest.hexdigest()


def print_id(moment: datetime, kind: str) -> str:
    """The identity of one print: its time (UTC ISO) and kind."""
    return f"{moment.astimezone(UTC).isoformat()}/{kind}"


def chart_key(print_ref: str, lead_symbol: str, language: str) -> str:
    """Where a print's chart for one lead symbol and language is stored (once)."""
    return f"{print_ref}|{lead_symbol}|{language}"


def retry_delay(attempts: int) -> float:
    """Back-off after the n-th failed attempt: min(30 s · 2ⁿ⁻¹, 15 min)."""
    return float(min(30 * 2 ** max(attempts - 1, 0), 900))


UNKNOWN_OUTCOME_RETRY_SECONDS = 90.0
"""A send whose outcome is unknown (a timeout) is retried within 2 minutes (dedupe window)."""


def died_error(deaths: int, last_error: str | None = None) -> str:
    """The last error of an item parked because its workers kept dying while delivering it."""
    text = f"worker died {deaths} times while delivering"
    return f"{text} (last error: {last_error})" if last_error else text


@dataclass(frozen=True)
class OutboxItem:
    """One message to one channel: an alert group (one print), a digest or a notice.

    An alert item refers to its group's events by id (`alert_ids`, stored once per print);
    the worker builds the Card for the channel at delivery. Digests and notices carry a
    language-neutral `payload`. Times `created_at` / `due_at` are real epoch seconds.
    """

    id: str
    idempotency_key: str
    channel: ChannelRef
    rule_id: str
    """The first alert's rule (alerts), or the subscription's rule id (digests)."""
    alert_id: str
    """The first alert's id (alerts); empty for digests and notices."""
    payload: Mapping[str, Any]
    attempts: int = 0
    """Failed delivery attempts so far."""
    last_error: str | None = None
    state: OutboxState = "pending"
    kind: MessageKind = "alert"
    alert_ids: tuple[str, ...] = ()
    print_id: str = ""
    created_at: float = 0.0
    due_at: float = 0.0
    expires_at: datetime | None = None
    """Trading time after which the worker parks it as expired (alerts: the next open)."""
    leased_at: float | None = None
    """When a worker last leased or renewed it (real time), while one holds it; None when
    no worker does. Its lease runs out `lease_seconds` later (`list_outbox` says it)."""
