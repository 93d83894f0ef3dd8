"""Alert cards: one message for the alerts that fired for one channel on one print.

Built in the core for the channel's language and time zone from the stored, language-neutral
`AlertEvent`s: the preset's description as the title, the severity, the figures the rule read
(proxies named), which print it was and when in the channel's zone, one expert view that fits
this kind of shock, what followed the most similar past sessions, and the lead symbol's chart
(rendered once per print, lead symbol and language by the caller, see `jobs/render.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.cards import Card, CardField, CardSection, Direction, Footer, Severity, clip
from bot.domain.chain_card import chain_fields, is_early, outlook_field
from bot.domain.formatting import format_metric, localized_source
from bot.domain.i18n import Locale, channel_zone, format_date, format_datetime, format_pct, t
from bot.domain.library import library_of
from bot.domain.market import MarketData
from bot.domain.markets import Market, market_for_symbol, markets
from bot.domain.model import AlertEvent
from bot.domain.news_section import news_section
from bot.domain.rules.presets import Rule
from bot.domain.view_figures import figures_line, quoted_figures
from bot.domain.view_section import (
    SessionPast,
    chips_after_text,
    past_from_payload,
    views_text,
)
from bot.domain.views import ExpertView
from bot.domain.zones import exchange_clock

SEVERITIES: Mapping[str, Severity] = {
    "notice": Severity.NOTICE,
    "warning": Severity.WARNING,
    "critical": Severity.CRITICAL,
}
TITLE_BUDGET = 256
VIEW_BUDGET = 600
WHAT_FOLLOWED_LINES = 4
"""Room of the card-layout contract (ARCHITECTURE.md): title, one view, what followed."""
DELAYED_AFTER_SECONDS = 300.0
"""A message delivered more than 5 minutes (real time) after its print arrived says so."""


@dataclass(frozen=True)
class AlertContext:
    """What an alert card needs besides its events: presets, views, the channel's settings."""

    presets: Mapping[str, Rule]
    views: Sequence[ExpertView]
    locale: Locale
    timezone: str = "UTC"
    source: str = ""
    replay_of: date | None = None
    """Set when the alert comes from a replay: every replayed message says so."""
    market: MarketData | None = None
    """The history the project's own figures come from (none: views show only theirs)."""
    figure_names: Mapping[str, str] = field(default_factory=dict)
    """`[figure_names]`: how views name what the history holds."""


def ordered(events: Sequence[AlertEvent], presets: Mapping[str, Rule]) -> list[AlertEvent]:
    """Most severe first, then by preset order in config, custom rules last."""
    order = {rule_id: index for index, rule_id in enumerate(presets)}
    return sorted(
        events,
        key=lambda e: (-e.severity_rank, order.get(e.rule_id, len(order)), e.rule_id),
    )


def figures_text(event: AlertEvent, locale: Locale) -> str:
    """The figures a rule read: `SOX −9.15 % · DJI +0.65 %` (a proxy named where one served)."""
    parts = []
    for item in event.payload.get("inputs", []):
        name = str(item.get("label", "?"))
        if item.get("proxy"):
            name = t("alert.proxy_label", locale, index=name, symbol=item.get("symbol", "?"))
        metric = str(item.get("metric", "pct"))
        shown = name if metric == "pct" else f"{name}.{metric}"
        value = item.get("value")
        thresholds = [float(limit) for limit in item.get("thresholds", ())]
        parts.append(f"{shown} {format_metric(metric, value, locale, thresholds=thresholds)}")
    return " · ".join(dict.fromkeys(parts))


def rule_title(event: AlertEvent, presets: Mapping[str, Rule], locale: Locale) -> str:
    """A preset's description in the locale, or a custom rule's text."""
    rule = presets.get(event.rule_id)
    if rule is not None and rule.description(locale):
        return rule.description(locale)
    expression = event.payload.get("expression") or event.rule_id.removeprefix("custom:")
    return clip(t("alert.custom_title", locale, rule=str(expression)), TITLE_BUDGET)


def print_text(event: AlertEvent, locale: Locale, zone: ZoneInfo) -> str:
    """Which print it was and when, in the channel's zone, then the print's market with its
    own clock where it differs: `시가 · 2025년 1월 27일 (월) 23:30 KST · NYSE 09:30 ET`; a
    rule on another market names the print's stage there, not the default market's:
    `2025년 1월 27일 (월) 15:30 KST · TSE 종가`, `… 01:30 EST · TSE close 15:30 JST`."""
    own = _own_market(event)
    if own is None:
        lead = str(event.payload.get("lead_symbol") or event.payload.get("lead") or "")
        return f"{stage_text(event, locale)} · {market_time(event.fired_at, lead, locale, zone)}"
    parts = (stage_text(event, locale), exchange_clock(event.fired_at, zone, own.zone))
    return f"{format_datetime(event.fired_at, locale, tz=zone)} · {' '.join(filter(None, parts))}"


def _own_market(event: AlertEvent) -> Market | None:
    """The market of a rule on another market than the default one (None otherwise)."""
    return markets().markets.get(str(event.payload.get("market", "")))


def stage_text(event: AlertEvent, locale: Locale) -> str:
    """The print's stage: the default market's print (`pre-market`, `open`), or another
    market's own (`TSE close`, `Euronext open`)."""
    own = _own_market(event)
    if own is None:
        return t(f"alert.print_{event.print_kind}", locale)
    stage = event.payload.get("stage")
    named = t(f"alert.print_{stage}", locale) if stage else ""
    return " ".join(filter(None, (own.label or own.name, named)))


def market_time(moment: datetime, symbol: str, locale: Locale, zone: ZoneInfo) -> str:
    """A print's time in the channel's zone, then its market and that market's own clock
    where it differs (`… 23:30 KST · NYSE 09:30 ET`; `… 09:30 EST · NYSE`)."""
    market = market_for_symbol(symbol)
    exchange = exchange_clock(moment, zone, market.zone)
    where = " ".join(part for part in (market.label, exchange) if part)
    return f"{format_datetime(moment, locale, tz=zone)} · {where}"


def _past(events: Sequence[AlertEvent], context: AlertContext) -> SessionPast | None:
    """The card's past: its session's own episode, else the closest earlier episode stored
    with the lead event at claim time (None for an event stored before episodes)."""
    rules = [context.presets.get(event.rule_id) for event in events]
    topics = {topic for rule in rules if rule is not None for topic in rule.topics}
    leads = [str(event.payload.get("lead", "")) for event in events]
    stored = events[0].payload.get("past")
    return past_from_payload(
        library_of(context.views),
        stored if isinstance(stored, Mapping) else None,
        session=events[0].session,
        kinds=[event.rule_id for event in events],
        topics=topics,
        symbols=[lead for lead in leads if lead],
    )


def _view_block(past: SessionPast | None, context: AlertContext) -> str:
    """The views section: the own or closest episode's views, or that no past episode looks
    like this move ("" for an event stored before episodes)."""
    if past is None:
        return ""
    market, locale = context.market, context.locale
    if market is None:
        return views_text(past, locale)

    def figures(view: ExpertView) -> str:
        found = quoted_figures(view, market, context.figure_names, until=past.session)
        return figures_line(found, locale)

    return views_text(past, locale, figures)


def _similar_text(event: AlertEvent, locale: Locale) -> str | None:
    """What followed the most similar past sessions (stored with the event at claim time)."""
    rows = event.payload.get("similar")
    if rows is None:
        return None
    if not rows:
        return t("alert.no_similar", locale)
    lines = []
    for row in rows:
        day = date.fromisoformat(str(row["date"]))
        moves = " · ".join(
            f"{localized_source(name, locale)} {format_pct(value, locale)}"
            for name, value in row.get("moves", {}).items()
        )
        forward = row.get("forward", {})
        after = ", ".join(
            t(
                "alert.after_one" if n == "1" else "alert.after_sessions",
                locale,
                n=n,
                move=format_pct(forward.get(n), locale),
            )
            for n in ("1", "5", "20")
        )
        lines.append(f"{format_date(day, locale)}: {moves} → {after}")
    return "\n".join(lines[:WHAT_FOLLOWED_LINES])


def _section(event: AlertEvent, context: AlertContext) -> CardSection:
    locale = context.locale
    return CardSection(
        title=rule_title(event, context.presets, locale),
        severity=SEVERITIES.get(event.severity, Severity.WARNING),
        fields=(CardField(t("alert.figures", locale), figures_text(event, locale), inline=False),),
        direction=direction_of(event),
    )


def direction_of(event: AlertEvent) -> Direction | None:
    """ "up" for a rally, "down" for a sell-off (None for an event stored without one)."""
    direction = event.payload.get("direction")
    return direction if direction in ("up", "down") else None


def banner_text(
    events: Sequence[AlertEvent],
    context: AlertContext,
    *,
    arrived_at: float,
    delivered_at: float,
) -> str:
    """ "Replay of 2025-01-27" and/or "delayed — fired 09:31" (real time since the print)."""
    parts = []
    if context.replay_of is not None:
        parts.append(
            t(
                "alert.replay_of",
                context.locale,
                date=format_date(context.replay_of, context.locale),
            )
        )
    if arrived_at and delivered_at - arrived_at > DELAYED_AFTER_SECONDS:
        fired = events[0].fired_at.astimezone(channel_zone(context.timezone))
        parts.append(t("alert.delayed", context.locale, time=f"{fired:%H:%M}"))
    return " · ".join(parts)


def build_alert_card(
    events: Sequence[AlertEvent],
    context: AlertContext,
    *,
    chart_png: bytes | None = None,
    arrived_at: float = 0.0,
    delivered_at: float = 0.0,
    mention: str | None = None,
) -> Card:
    """The one message for the alerts of one print for one channel."""
    if not events:
        raise ValueError("an alert card needs at least one event")
    locale = context.locale
    zone = channel_zone(context.timezone)
    group = ordered(events, context.presets)
    top = group[0]
    # The card-layout contract's order: figures, when, views, what followed.
    when: list[CardField] = [CardField(t("alert.print", locale), print_text(top, locale, zone))]
    if top.payload.get("market_session") == "pre" and "market" not in top.payload:
        when.append(CardField(t("alert.session", locale), t("alert.pre_market", locale)))
    early = outlook_field(top.payload, locale)
    when += [early] if early is not None else []
    when += chain_fields(top.payload, locale, zone)
    when += news_section(top.payload, locale, zone, replay=context.replay_of is not None)
    closing: list[CardField] = []
    similar = _similar_text(top, locale)
    if similar is not None:
        lead = str(top.payload.get("lead", ""))
        closing.append(CardField(t("alert.similar", locale, symbol=lead), similar, inline=False))
    elif top.print_kind != "close":
        note = t("alert.similar_at_close", locale)
        closing.append(CardField(t("alert.similar_title", locale), note, inline=False))
    past = _past(group, context)
    after = chips_after_text(past, locale) if past else None
    if after:
        closing.append(CardField(t("episode.chips_title", locale), after, inline=False))
    text = _view_block(past, context)
    sections: tuple[CardSection, ...] = ()
    if len(group) == 1:
        title = rule_title(top, context.presets, locale)
        fields = [CardField(t("alert.figures", locale), figures_text(top, locale), inline=False)]
        fields += when
    else:
        title = t(
            "alert.group_title",
            locale,
            n=len(group),
            print=stage_text(top, locale),
        )
        sections = tuple(_section(event, context) for event in group)
        # Each section holds its figures; the shared "when" follows them, before the view.
        fields = []
        lines = "\n".join(f"{field.name}: {field.value}" for field in when)
        text = f"{lines}\n\n{text}" if text else lines
    if is_early(top.payload):
        title = clip(t("alert.early_title", locale, title=title), TITLE_BUDGET)
    lead = str(top.payload.get("lead", "chart"))
    return Card(
        title=title,
        severity=SEVERITIES.get(top.severity, Severity.WARNING),
        fields=tuple(fields),
        text=text,
        chart_png=chart_png,
        chart_name=f"alert-{lead}-{top.session.isoformat()}-{top.print_kind}-{locale}.png".replace(
            "^", ""
        ),
        footer=Footer(
            source=context.source,
            as_of=top.fired_at,
            disclaimer=t("common.disclaimer", locale),
        ),
        sections=sections,
        banner=banner_text(group, context, arrived_at=arrived_at, delivered_at=delivered_at),
        mention=mention,
        closing=tuple(closing),
        direction=direction_of(top),
    )


def lead_of(events: Sequence[AlertEvent], presets: Mapping[str, Rule]) -> str:
    """The lead symbol label of the group's chart: the most severe alert's."""
    return str(ordered(events, presets)[0].payload.get("lead", "SOX"))
