"""Helpers the commands share: symbols and dates from user text, footers, moves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import pandas as pd

from bot.domain.cards import Footer
from bot.domain.i18n import Locale, format_date, format_pct, has_message, t
from bot.domain.model import TriggerPolicy, format_duration
from bot.domain.price_metrics import Unavailable
from bot.domain.rules.canonical import canonical_text
from bot.domain.rules.checks import decidable_on_its_face
from bot.domain.rules.parser import RuleError, metric_refs
from bot.domain.rules.presets import Rule, custom_rule
from bot.domain.sessions import SessionError, resolve_session
from bot.domain.snapshot import Reading, Resolved
from bot.domain.symbols import Instrument, UnknownSymbolError
from handlers.base import Invocation, UserError


def resolve_symbol(inv: Invocation, text: str) -> Instrument:
    """An alias or Yahoo symbol the market knows, else a "did you mean" error."""
    market = inv.services.core.market
    try:
        instrument = market.symbols.resolve(text)
    except UnknownSymbolError as exc:
        if exc.suggestions:
            raise UserError(
                "error.unknown_symbol", symbol=text[:30], suggestion=", ".join(exc.suggestions)
            ) from None
        raise UserError("error.unknown_symbol_no_suggestion", symbol=text[:30]) from None
    if not market.has(instrument.symbol) and not (
        instrument.proxy and market.has(instrument.proxy)
    ):
        raise UserError("error.no_history", symbol=instrument.label)
    return instrument


def resolve_day(inv: Invocation, text: str | None, sessions: pd.DatetimeIndex) -> pd.Timestamp:
    """The session a user asked for (the latest one when `text` is None)."""
    if len(sessions) == 0:
        raise UserError("error.no_history", symbol="?")
    if text is None:
        return pd.Timestamp(sessions[-1])
    try:
        return resolve_session(text, sessions)
    except SessionError as exc:
        locale = inv.locale
        nearest = ", ".join(format_date(day, locale) for day in exc.nearest)
        if exc.code == "malformed":
            raise UserError("error.malformed_date", text=text[:40], example="2025-01-27") from None
        if exc.code == "out_of_range":
            first, last = sessions[0].date(), sessions[-1].date()
            raise UserError(
                "error.outside_history",
                date=text[:40],
                first=format_date(first, locale),
                last=format_date(last, locale),
                nearest=nearest,
            ) from None
        raise UserError("error.no_session_on_date", date=text[:40], nearest=nearest) from None


def parse_user_rule(inv: Invocation, text: str) -> Rule:
    """A rule typed by a user, in its canonical text (`NVDA.pct<=-8` → `NVDA.pct <= -8`), or a
    friendly error that points at the problem; a rule no values could ever decide
    (``NVDA.pct/0 > 1``) is refused."""
    try:
        rule = custom_rule(text, inv.services.core.market.symbols)
    except RuleError as exc:
        raise UserError("error.bad_rule", reason=exc.localized(inv.locale)) from None
    if not decidable_on_its_face(rule.tree):
        raise UserError("error.rule_never_decidable", rule=rule.text[:120])
    return replace(rule, text=canonical_text(rule.tree))


def rule_data_warning(inv: Invocation, rule: Rule) -> str:
    """A warning when the shipped history cannot decide the rule on any session (a symbol
    with no history, only live quotes); "" otherwise."""
    market = inv.services.core.market
    missing = [
        ref.instrument.label
        for ref in metric_refs(rule.tree)
        if not market.has(ref.instrument.symbol)
        and not (ref.instrument.proxy and market.has(ref.instrument.proxy))
    ]
    if not missing:
        return ""
    return t("rules.no_history_warning", inv.locale, symbols=", ".join(dict.fromkeys(missing)))


def move(reading: Reading | Resolved | float | None, locale: Locale) -> str:
    """A percentage move, or "n/a" in the locale."""
    value = reading.value if isinstance(reading, Resolved) else reading
    if isinstance(value, Unavailable) or value is None:
        return t("common.na", locale)
    return format_pct(value, locale)


def label(resolved: Resolved, locale: Locale) -> str:
    """An instrument's name in the locale (SK하이닉스 on Korean cards), naming the proxy when
    one stood in."""
    name = resolved.instrument.display(locale)
    if resolved.via_proxy:
        return t("common.proxy", locale, symbol=resolved.symbol, index=name)
    return name


def unavailable_reason(reason: Unavailable, locale: Locale) -> str:
    """Why a figure is missing, in the locale (English detail when no translation exists)."""
    key = f"unavailable_reason.{reason.code}"
    return t(key, locale) if has_message(key) else reason.detail


_DURATION_UNITS: Mapping[str, Mapping[str, str]] = {
    "ko": {"w": "주", "d": "일", "h": "시간", "m": "분", "s": "초"},
    "en": {"w": "w", "d": "d", "h": "h", "m": "m", "s": "s"},
}


def policy_text(policy: TriggerPolicy, locale: Locale) -> str:
    """A trigger policy in words: once per session, only once, or a cooldown."""
    if policy.kind == "cooldown":
        text = format_duration(policy.cooldown_seconds)
        duration = text[:-1] + _DURATION_UNITS[locale][text[-1]]
        return t("policy.cooldown", locale, duration=duration)
    return t("policy.once" if policy.kind == "once" else "policy.session", locale)


def price_decimals(symbol: str) -> int:
    """Decimals a price is shown with: none for won-priced Korean listings."""
    return 0 if symbol.upper().endswith((".KS", ".KQ")) else 2


def footer(inv: Invocation, source: str, as_of: datetime | None) -> Footer:
    """Source, as-of time and the not-investment-advice line."""
    return Footer(source=source, as_of=as_of, disclaimer=t("common.disclaimer", inv.locale))
