"""`/shock SYMBOL [DATE]`: the move, its context, similar past sessions and expert views."""

from __future__ import annotations

from typing import Annotated

from bot.domain.analysis import ShockReport, analyse_shock, analysis_sessions, chart_series
from bot.domain.cards import Card, CardField, Severity
from bot.domain.chart import render_shock_chart
from bot.domain.i18n import Locale, format_date, format_number, format_short_date, t
from bot.domain.metrics import FORWARD_HORIZONS
from bot.domain.views import ExpertView, balanced_views, rank_views
from handlers.base import Invocation, command
from handlers.common import (
    footer,
    label,
    move,
    price_decimals,
    resolve_day,
    resolve_symbol,
)

_SEVERITY_BY_TIER = {
    "notice": Severity.NOTICE,
    "warning": Severity.WARNING,
    "critical": Severity.CRITICAL,
}


@command("shock")
async def shock(
    inv: Invocation,
    symbol: Annotated[str, "Symbol or alias, e.g. NVDA, SOX, 000660.KS"],
    date: Annotated[str | None, "Session date YYYY-MM-DD (default: the latest)"] = None,
) -> Card:
    """Explain a symbol's move on a session: numbers, context, similar days and expert views."""
    services = inv.services
    market = services.core.market
    subject = resolve_symbol(inv, symbol)
    session = resolve_day(inv, date, analysis_sessions(market, subject))
    report = analyse_shock(market, services.presets, subject, session)
    locale = inv.locale
    kinds = [outcome.rule.id for outcome in report.fired]
    own = report.metrics["pct"].number
    if not kinds and own is not None and own <= -5:
        kinds = ["chip_crash"]
    topics = {topic for outcome in report.fired for topic in outcome.rule.topics}
    ranked = rank_views(
        services.views, shock_kinds=kinds, topics=topics, symbol=subject.symbol, limit=8
    )
    views = balanced_views(ranked, limit=2)
    instruments = [subject, *[market.symbols.resolve(name) for name in ("SOX", "DJI")]]
    series, proxies = chart_series(market, instruments, session)
    notes = {proxy: t("chart.proxy_of", locale, index=index) for proxy, index in proxies.items()}
    title = t(
        "shock_card.title", locale, symbol=subject.label, date=format_date(session.date(), locale)
    )
    chart = render_shock_chart(
        series, shock_date=session.date(), locale=locale, title=title, proxy_notes=notes
    )
    return Card(
        title=title,
        severity=_severity(report),
        fields=tuple(_fields(report, locale)),
        text="\n\n".join(_view_lines(view, locale) for view in views) or t("views.none", locale),
        chart_png=chart,
        chart_name=f"shock-{subject.label}-{session.date()}.png".replace("^", ""),
        footer=footer(inv, _source(report), report.quote.as_of),
    )


def _severity(report: ShockReport) -> Severity:
    ranks = [o.tier for o in report.fired if o.tier is not None]
    if ranks:
        return _SEVERITY_BY_TIER[max(ranks, key=lambda tier: tier.rank).name]
    z = report.metrics["z"].number
    return Severity.WARNING if z is not None and abs(z) >= 3 else Severity.INFO


def _fields(report: ShockReport, locale: Locale) -> list[CardField]:
    metrics = report.metrics
    z = metrics["z"].number
    vol = metrics["vol20"].number
    z_text = (
        t("common.na", locale) if z is None else format_number(z, locale, decimals=1, signed=True)
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
    fields = [
        CardField(t("shock_card.move", locale), move(metrics["pct"], locale)),
        CardField(t("shock_card.gap", locale), move(metrics["gap"], locale)),
        CardField(t("shock_card.z", locale), z_text),
        CardField(t("shock_card.vs_sox", locale), move(report.relative_to_sox, locale)),
        CardField(t("shock_card.close", locale), levels),
        CardField(
            t("shock_card.benchmarks", locale),
            " · ".join(f"{label(b, locale)} {move(b, locale)}" for b in report.benchmarks),
            inline=False,
        ),
        CardField(t("shock_card.presets", locale), _presets_text(report, locale), inline=False),
        CardField(
            t("shock_card.next", locale), _forward_text(report.forward, locale), inline=False
        ),
        CardField(t("shock_card.similar", locale), _similar_text(report, locale), inline=False),
    ]
    return fields


def _presets_text(report: ShockReport, locale: Locale) -> str:
    fired = report.fired
    if not fired:
        return t("shock_card.no_presets", locale)
    return "\n".join(
        f"• {o.rule.id} [{t('tier.' + o.tier.name, locale) if o.tier else ''}] — "
        f"{o.rule.description(locale)}"
        for o in fired
    )


def _forward_text(forward: dict[int, float | None], locale: Locale) -> str:
    return " · ".join(
        t("shock_card.after_sessions", locale, n=h, move=move(forward.get(h), locale))
        for h in FORWARD_HORIZONS
    )


def _similar_text(report: ShockReport, locale: Locale) -> str:
    if not report.similar:
        return t("shock_card.no_similar", locale)
    lines = []
    for day in report.similar:
        moves = ", ".join(f"{name} {move(value, locale)}" for name, value in day.moves.items())
        lines.append(
            f"• {format_short_date(day.date.date(), locale)} ({day.date.year}): {moves}\n"
            f"  → {_forward_text(day.forward, locale)}"
        )
    return "\n".join(lines)


def _view_lines(view: ExpertView, locale: Locale) -> str:
    stance = t(f"stance.{view.stance}", locale)
    return f"**{view.speaker}** ({stance}) — {view.summary(locale)}\n— {view.attribution(locale)}"


def _source(report: ShockReport) -> str:
    symbols = sorted({report.metrics["pct"].symbol, *(b.symbol for b in report.benchmarks)})
    return f"{report.quote.source}: {', '.join(symbols)}"
