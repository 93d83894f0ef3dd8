"""The daily digest's Card, from the digest job's language-neutral payload (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import pandas as pd

from bot.domain.alert_card import SEVERITIES
from bot.domain.analysis import chart_series
from bot.domain.cards import Card, CardField, Footer, Severity
from bot.domain.chain_card import digest_chain_text
from bot.domain.chart import render_shock_chart
from bot.domain.i18n import Locale, format_date, format_pct, t
from bot.domain.library import library_of
from bot.domain.market import MarketData
from bot.domain.model import Channel
from bot.domain.news_section import news_section
from bot.domain.rules.canonical import rule_label
from bot.domain.rules.presets import Rule
from bot.domain.tiers import tier_name
from bot.domain.view_figures import figures_line, quoted_figures
from bot.domain.view_section import chips_after_text, past_from_payload, views_text
from bot.domain.views import ExpertView

CHAIN_LINES = 5
"""The day's alerts on a digest: at most five lines (the card-layout contract's chain)."""


class _DigestSettings(Protocol):
    @property
    def figure_names(self) -> Mapping[str, str]: ...


class _DigestCore(Protocol):
    @property
    def settings(self) -> _DigestSettings: ...

    @property
    def market(self) -> MarketData: ...

    @property
    def presets(self) -> Mapping[str, Rule]: ...


class DigestServices(Protocol):
    """What a digest card reads of the services (the app's `Services` is one): the
    market, the presets, the figures' names and the expert views."""

    @property
    def core(self) -> _DigestCore: ...

    @property
    def views(self) -> Sequence[ExpertView]: ...


def _label(figure: Mapping[str, Any], locale: Locale) -> str:
    if figure.get("via_proxy"):
        return t("digest.proxy", locale, label=figure["label"], symbol=figure["symbol"])
    return str(figure["label"])


def _move_fields(figures: Sequence[Mapping[str, Any]], locale: Locale) -> list[CardField]:
    return [CardField(_label(f, locale), format_pct(f.get("pct"), locale)) for f in figures]


def _fired_lines(
    fired: Sequence[Mapping[str, Any]], services: DigestServices, channel: Channel, locale: Locale
) -> str:
    if not fired:
        return t("digest.none_fired", locale)
    zone = ZoneInfo(channel.zone_name)
    lines = []
    shown = fired if len(fired) <= CHAIN_LINES else fired[: CHAIN_LINES - 1]
    for event in shown:
        when = datetime.fromisoformat(event["fired_at"]).astimezone(zone)
        rule = rule_label(str(event["rule_id"]), event.get("expression"), event.get("name"))
        preset = services.core.presets.get(str(event["rule_id"]))
        direction = preset.direction if preset is not None else None
        severity = tier_name(str(event["severity"]), "up" if direction == "up" else "down", locale)
        lines.append(
            t(
                "digest.fired_line",
                locale,
                rule=rule,
                severity=severity,
                time=f"{when:%H:%M %Z}",
            )
        )
    if len(shown) < len(fired):
        lines.append(t("snooze.summary_more", locale, count=len(fired) - len(shown)))
    return "\n".join(lines)


def strongest_tier(fired: Sequence[Mapping[str, Any]]) -> Severity:
    """The digest's tier: its strongest alert's (notice when it names none known), info when
    nothing fired."""
    tiers = [SEVERITIES[str(e["severity"])] for e in fired if str(e.get("severity")) in SEVERITIES]
    if not tiers:
        return Severity.NOTICE if fired else Severity.INFO
    return max(tiers, key=list(SEVERITIES.values()).index)


def digest_chart(services: DigestServices, session: date, locale: Locale) -> bytes | None:
    """SOX, the S&P 500 and the Dow up to the session the digest covers (nothing after it)."""
    title = t("digest.title", locale, date=format_date(session, locale))
    return _chart(services, session, locale, title)


def _chart(services: DigestServices, session: date, locale: Locale, title: str) -> bytes | None:
    market = services.core.market
    try:
        instruments = [market.symbols.resolve(name) for name in ("SOX", "SPX", "DJI")]
    except LookupError:
        return None
    series, proxies = chart_series(market, instruments, pd.Timestamp(session), after=0)
    if not series:
        return None
    notes = {proxy: t("chart.proxy_of", locale, index=index) for proxy, index in proxies.items()}
    return render_shock_chart(
        series, shock_date=session, locale=locale, title=title, proxy_notes=notes
    )


def _views(
    services: DigestServices, payload: Mapping[str, Any], session: date, locale: Locale
) -> str:
    """The session's own episode's views, or (when a rule fired) the closest earlier
    episode's — never a view from after the session ("" when the digest carries none)."""
    stored = payload.get("past")
    past = past_from_payload(
        library_of(services.views),
        stored if isinstance(stored, Mapping) else None,
        session=session,
        kinds=[str(kind) for kind in payload.get("kinds", [])],
        topics=[str(topic) for topic in payload.get("topics", [])],
    )
    if past is None or (past.views is None and not payload.get("kinds")):
        return ""
    market = services.core.market
    names = services.core.settings.figure_names

    def figures(view: ExpertView) -> str:
        return figures_line(quoted_figures(view, market, names, until=session), locale)

    text = views_text(past, locale, figures)
    after = chips_after_text(past, locale)
    return f"{text}\n\n{after}" if after else text


def build_digest_card(
    services: DigestServices, channel: Channel, payload: Mapping[str, Any], *, chart: bool = True
) -> Card:
    """The digest for `channel`, in its language and time zone."""
    locale = cast(Locale, channel.language)
    session = date.fromisoformat(payload["session"])
    title = t("digest.title", locale, date=format_date(session, locale))
    banners = []
    if payload.get("replay_of"):
        replayed = date.fromisoformat(payload["replay_of"])
        banners.append(t("alert.replay_of", locale, date=format_date(replayed, locale)))
    if payload.get("late_minutes"):
        banners.append(t("digest.late", locale, minutes=payload["late_minutes"]))
    fields = _move_fields(payload.get("benchmarks", []), locale)
    movers = payload.get("movers", [])
    if movers:
        movers_text = ", ".join(
            f"{_label(f, locale)} {format_pct(f.get('pct'), locale)}" for f in movers
        )
        fields.append(CardField(t("digest.movers", locale), movers_text, inline=False))
    fired = payload.get("fired", [])
    fields.append(
        CardField(
            t("digest.fired", locale),
            _fired_lines(fired, services, channel, locale),
            inline=False,
        )
    )
    chain = payload.get("chain", [])
    if chain:  # a day that warned before the bell: its chain, from the first warning
        text = digest_chain_text(chain, locale, ZoneInfo(channel.zone_name))
        fields.append(CardField(t("digest.chain", locale), text, inline=False))
    fields += news_section(
        payload,
        locale,
        ZoneInfo(channel.zone_name),
        replay=bool(payload.get("replay_of")),
        key="news.digest_field",
    )
    text = _views(services, payload, session, locale)
    png = _chart(services, session, locale, title) if chart else None
    slot = datetime.fromisoformat(payload["slot"]) if payload.get("slot") else None
    return Card(
        title=title,
        severity=strongest_tier(fired),
        fields=tuple(fields),
        text=text,
        chart_png=png,
        chart_name=f"digest-{session}-{locale}.png",
        footer=Footer(
            t("alert.source_history" if payload.get("replay_of") else "digest.source", locale),
            slot,
            t("common.disclaimer", locale),
        ),
        banner=" · ".join(banners),
    )
