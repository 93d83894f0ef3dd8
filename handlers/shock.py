"""`/shock SYMBOL [DATE]`: the move, its context, similar past sessions and expert views."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from bot.domain.alert_card import WHAT_FOLLOWED_LINES
from bot.domain.analysis import (
    MIN_SIMILAR_POOL,
    ComparisonRow,
    ShockReport,
    analyse_shock,
    analysis_sessions,
    card_tier,
    chart_series,
    own_move_tier,
)
from bot.domain.cards import Card, CardField, Direction, Severity
from bot.domain.chart import render_shock_chart
from bot.domain.formatting import localized_source, proxy_suffix
from bot.domain.freshness import freshness
from bot.domain.i18n import Locale, format_date, format_number, format_points, t
from bot.domain.library import library_of
from bot.domain.markets import market_for_symbol
from bot.domain.price_metrics import FORWARD_HORIZONS, Unavailable
from bot.domain.rules.evaluate import RuleOutcome
from bot.domain.signature import signature_book
from bot.domain.tiers import tier_name
from bot.domain.view_figures import figures_line, quoted_figures
from bot.domain.view_section import SessionPast, chips_after_text, explain_session, views_text
from bot.domain.views import ExpertView
from handlers.base import Autocomplete, Invocation, command
from handlers.common import (
    footer,
    label,
    move,
    price_decimals,
    resolve_day,
    resolve_symbol,
    unavailable_reason,
)
from handlers.news import channel_zone, shock_news
from handlers.overseas import when_field, world_field

_SEVERITIES = {
    "notice": Severity.NOTICE,
    "warning": Severity.WARNING,
    "critical": Severity.CRITICAL,
}


@command("shock")
async def shock(
    inv: Invocation,
    symbol: Annotated[str, "Symbol or alias, e.g. NVDA, SOX, 000660.KS", Autocomplete("symbols")],
    date: Annotated[str | None, "Session date YYYY-MM-DD (default: the latest)"] = None,
) -> Card:
    """Explain a symbol's move on a session: numbers, context, similar days and expert views."""
    services = inv.services
    market = services.core.market
    subject = resolve_symbol(inv, symbol)
    session = resolve_day(inv, date, analysis_sessions(market, subject))
    # The analysis and the chart are CPU work (150-280 ms): off the event loop, so one
    # /shock never stalls a gateway heartbeat or other users' commands.
    # Headlines are fetched meanwhile (within the news budget), for the current session only.
    news = asyncio.create_task(shock_news(inv, subject, session))
    try:
        report = await asyncio.to_thread(analyse_shock, market, services.presets, subject, session)
    except BaseException:
        news.cancel()
        raise
    locale = inv.locale
    own_tier = _own_tier(report, services.core.settings.shock.tier_config())
    past = await asyncio.to_thread(_past, inv, report, own_tier)
    charted = market_for_symbol(report.quote.symbol).chart_benchmarks
    instruments = [subject, *[market.symbols.resolve(name) for name in charted]]
    series, proxies = chart_series(market, instruments, session)
    # Korean charts name instruments as Korean cards do (SK하이닉스).
    names = {inst.label: inst.display(locale) for inst in instruments}
    series = {names.get(key, key): values for key, values in series.items()}
    notes = {proxy: t("chart.proxy_of", locale, index=index) for proxy, index in proxies.items()}
    name = label(report.metrics["pct"], locale)
    severity = _severity(report, own_tier)
    title = t(
        _title_key(report, severity), locale, symbol=name, date=format_date(session.date(), locale)
    )
    moves = chart_moves(report, locale)
    chart = await asyncio.to_thread(
        partial(
            render_shock_chart,
            series,
            shock_date=session.date(),
            locale=locale,
            title=title,
            proxy_notes=notes,
            moves=moves,
        )
    )
    world = await asyncio.to_thread(world_field, market, report, locale)
    fields = _fields(report, locale, _display(inv, report.reference))
    if world is not None:  # beside the comparison: the night before, or New York after
        fields.insert(5, world)
    fields.append(when_field(report, locale, await channel_zone(inv)))
    closing = _closing(report, locale)
    after = chips_after_text(past, locale) if past else None
    if after:  # what followed the closest episode, right after the similar sessions
        closing = (*closing, CardField(t("episode.chips_title", locale), after, False))
    text = await asyncio.to_thread(_views_text, inv, past, report, locale)
    severity = _severity(report, own_tier)
    pct = report.metrics["pct"].number
    age = freshness(session, report.quote.symbol, services.clock.now())
    return Card(
        banner=age.describe(locale) if date is None and age.stale else "",
        title=title,
        severity=severity,
        # Headlines (the current session's only) follow the figures, before the views.
        fields=(*fields, *await news),
        closing=closing,
        text=text,
        direction=None if pct is None or severity is Severity.INFO else _direction(pct),
        chart_png=chart,
        chart_name=f"shock-{subject.label}-{session.date()}-{locale}.png".replace("^", ""),
        footer=footer(inv, _source(report, locale), report.quote.as_of),
    )


def chart_moves(report: ShockReport, locale: Locale) -> dict[str, float | None]:
    """The figures the chart's legend shows, keyed as its series are: the card's own moves
    (None where the card has none, so the legend shows none either)."""
    return {
        (row.pct.symbol if row.pct.via_proxy else row.pct.instrument.display(locale)): (
            row.pct.number
        )
        for row in report.rows
    }


def _title_key(report: ShockReport, severity: Severity) -> str:
    """ "NVDA shock" only when there is one: a move below every tier, with no preset on the
    symbol, is titled a quiet session (and an unknown move names no shock either)."""
    if report.metrics["pct"].number is None:
        return "shock_card.title_unknown"
    return "shock_card.title_quiet" if severity is Severity.INFO else "shock_card.title"


def _own_tier(report: ShockReport, config: Mapping[str, Any]) -> str | None:
    """The tier the subject's own move reaches (|z| tier or |move| tier, the higher)."""
    return own_move_tier(report.metrics["z"].number, report.metrics["pct"].number, config)


def _severity(report: ShockReport, own: str | None) -> Severity:
    """The subject's own tier, lifted by presets that read it only when its own move is at
    least a notice — never set by presets about other symbols."""
    tier = card_tier(own, [o.tier.name if o.tier else None for o in report.fired_on_subject])
    return _SEVERITIES[tier] if tier else Severity.INFO


def _direction(pct: float) -> Direction:
    return "up" if pct > 0 else "down"


def _past(inv: Invocation, report: ShockReport, own_tier: str | None) -> SessionPast | None:
    """What the card says of past episodes: its own episode's views, or the closest earlier
    episode's; None when there is no shock to explain (no preset on the symbol and its own
    move below notice)."""
    own, market = report.fired_on_subject, report.fired_on_market
    if not own and not own_tier:
        return None
    fired = own + market
    topics = {topic for outcome in fired for topic in outcome.rule.topics}
    if not fired:
        topics = set(inv.services.core.settings.shock.topics)
    library = library_of(inv.services.views)
    book = signature_book(library, inv.services.core.market, episodes_config(inv))
    window = [day.date() for day in report.market_sessions]
    return explain_session(
        library,
        book,
        session=report.session.date(),
        days=window,
        signature=book.session_signature(window[-1]) if window else None,
        kinds=[outcome.rule.id for outcome in fired],
        topics=topics,
        symbols=[report.subject.symbol],
    )


def episodes_config(inv: Invocation) -> dict[str, Any]:
    """`[episodes]` as the domain reads it."""
    return inv.services.core.settings.episodes.model_dump()


def _views_text(
    inv: Invocation, past: SessionPast | None, report: ShockReport, locale: Locale
) -> str:
    if past is None:
        if report.metrics["pct"].number is None:
            return t("shock_card.no_views_unknown", locale)
        return t("shock_card.no_views", locale)
    market = inv.services.core.market
    names = inv.services.core.settings.figure_names
    until = report.session.date()

    def figures(view: ExpertView) -> str:
        return figures_line(quoted_figures(view, market, names, until=until), locale)

    return views_text(past, locale, figures)


def _display(inv: Invocation, name: str) -> str:
    """How the card's language names an alias (닛케이225 on Korean cards)."""
    return inv.services.core.market.symbols.resolve(name).display(inv.locale)


def _fields(report: ShockReport, locale: Locale, reference: str) -> list[CardField]:
    metrics = report.metrics
    z = metrics["z"].number
    vol = metrics["vol20"].number
    z_text = (
        move(metrics["z"], locale)
        if z is None
        else format_number(z, locale, decimals=1, signed=True)
        + proxy_suffix(metrics["z"], metrics["pct"].symbol, locale)
    )
    if vol is not None:
        z_text += " " + t("shock_card.vol20", locale, vol=move(vol, locale).lstrip("+"))
    quote = report.quote
    levels = " → ".join(
        format_number(price, locale, decimals=price_decimals(quote.symbol))
        for price in (quote.previous_close, quote.last)
    )
    if quote.adjusted_levels:
        levels += f" ({t('common.adjusted_prices', locale)})"
    subject = label(metrics["pct"], locale)
    fields = [
        CardField(t("shock_card.move", locale), move(metrics["pct"], locale)),
        CardField(
            t("shock_card.gap", locale),
            move(metrics["gap"], locale)
            + proxy_suffix(metrics["gap"], metrics["pct"].symbol, locale),
        ),
        CardField(t("shock_card.z", locale), z_text),
        CardField(t("shock_card.close", locale), levels),
        CardField(
            _comparison_title(report, locale),
            "\n".join(
                _comparison_line(row, report.reference, reference, locale) for row in report.rows
            ),
            inline=False,
        ),
        CardField(
            t("shock_card.presets_subject", locale, symbol=subject),
            _presets_text(report.fired_on_subject, locale),
            inline=False,
        ),
        CardField(
            _market_presets_title(report, locale),
            _presets_text(report.fired_on_market, locale),
            inline=False,
        ),
    ]
    notes = _notes(report, locale)
    if notes:
        fields.append(CardField(t("shock_card.notes", locale), notes, inline=False))
    return fields


def _closing(report: ShockReport, locale: Locale) -> tuple[CardField, ...]:
    """What followed (the contract's section 8, after the views): the subject 1, 5 and 20
    sessions later, and the most similar sessions, one line each (four lines in all)."""
    return (
        CardField(
            t("shock_card.next", locale), _forward_text(report.forward, locale), inline=False
        ),
        CardField(t("shock_card.similar", locale), _similar_text(report, locale), inline=False),
    )


def _window_text(report: ShockReport, locale: Locale) -> str | None:
    """For a foreign subject: the US sessions its benchmarks cover (None for a US one)."""
    window = report.market_sessions
    if len(window) == 1 and window[0] == report.session:
        return None
    if len(window) == 0:
        return t("shock_card.no_us_session", locale)
    first, last = (format_date(day.date(), locale) for day in (window[0], window[-1]))
    if len(window) == 1:
        return t("shock_card.us_window_one", locale, day=first)
    return t("shock_card.us_window", locale, first=first, last=last, count=len(window))


def _comparison_title(report: ShockReport, locale: Locale) -> str:
    title = t("shock_card.comparison", locale)
    window = _window_text(report, locale) if report.windowed else None
    return f"{title} — {window}" if window else title


def _market_presets_title(report: ShockReport, locale: Locale) -> str:
    window = _window_text(report, locale)
    if window:
        return t("shock_card.presets_us_window", locale, window=window)
    return t("shock_card.presets_market", locale)


def _comparison_line(row: ComparisonRow, reference: str, shown_as: str, locale: Locale) -> str:
    z = row.z.number
    z_text = (
        t("common.na", locale) if z is None else format_number(z, locale, decimals=1, signed=True)
    )
    shown = row.pct.symbol
    parts = [
        f"{label(row.pct, locale)} {move(row.pct, locale)}",
        t("shock_card.gap_short", locale, gap=move(row.gap, locale))
        + proxy_suffix(row.gap, shown, locale),
        f"z {z_text}" + (proxy_suffix(row.z, shown, locale) if z is not None else ""),
    ]
    if row.pct.instrument.label != reference:
        vs = format_points(row.vs_sox, locale)
        parts.append(t("shock_card.vs_short", locale, name=shown_as, move=vs))
    return " · ".join(parts)


def _presets_text(outcomes: list[RuleOutcome], locale: Locale) -> str:
    if not outcomes:
        return t("shock_card.no_presets", locale)
    return "\n".join(
        f"• {o.rule.id} [{tier_name(o.tier.name, _rule_direction(o), locale) if o.tier else ''}] — "
        f"{o.rule.description(locale)}"
        for o in outcomes
    )


def _rule_direction(outcome: RuleOutcome) -> Direction | None:
    direction = outcome.rule.direction
    return "up" if direction == "up" else "down" if direction == "down" else None


def _forward_text(forward: Mapping[int, float | None], locale: Locale) -> str:
    return " · ".join(
        t("shock_card.after_sessions", locale, n=h, move=move(forward.get(h), locale))
        for h in FORWARD_HORIZONS
    )


def _similar_text(report: ShockReport, locale: Locale) -> str:
    if not report.similar and report.similar_pool < MIN_SIMILAR_POOL:
        return t("shock_card.too_few_similar", locale, count=report.similar_pool)
    if not report.similar:
        return t("shock_card.no_similar", locale)
    lines = []
    for day in report.similar:
        moves = ", ".join(
            f"{localized_source(name, locale)} {move(value, locale)}"
            for name, value in day.moves.items()
        )
        lines.append(
            f"• {format_date(day.date.date(), locale)}: {moves}"
            f" → {_forward_text(day.forward, locale)}"
        )
    return "\n".join(lines[: WHAT_FOLLOWED_LINES - 1])


def _notes(report: ShockReport, locale: Locale) -> str:
    """Why any of the subject's figures are unavailable."""
    lines = []
    for name, key in (("pct", "move"), ("gap", "gap"), ("z", "z")):
        value = report.metrics[name].value
        if isinstance(value, Unavailable):
            lines.append(f"• {t('shock_card.' + key, locale)}: {unavailable_reason(value, locale)}")
    return "\n".join(dict.fromkeys(lines))


def _source(report: ShockReport, locale: Locale) -> str:
    return t("common.history_source", locale, symbols=", ".join(report.sources))
