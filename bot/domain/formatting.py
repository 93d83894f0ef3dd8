"""How figures are written on every card, alert and CLI line — one place for the conventions.

* Minus is U+2212 (``−``), plus is ``+``; a move that rounds to zero keeps its direction.
* Percent is ``−9.15 %`` (a space before ``%``) in both languages.
* A figure compared against a threshold gets enough digits to show which side it fell on
  (``+0.0019 %`` against ``DJI.pct > 0``, not ``+0.00 %``).
* A figure a proxy served names the proxy: ``DJI (proxy DIA) +0.68 %``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from bot.domain.i18n import MINUS, Locale, format_pct, t
from bot.domain.price_metrics import Unavailable
from bot.domain.snapshot import Resolved

MAX_DECIMALS = 6


def signed_ascii(text: str) -> str:
    """Replace ASCII hyphen-minus signs by U+2212 (for figures built with ``f"{x:+.1f}"``)."""
    return text.replace("-", MINUS)


def decimals_near(value: float, thresholds: Iterable[float], decimals: int = 2) -> int:
    """The fewest decimals (at least ``decimals``) at which ``value`` rounds to a number on
    the same side of every threshold as the value itself — so "+0.00" never stands for a
    value that was compared, and found greater, than 0."""
    limits = [float(x) for x in thresholds if math.isfinite(float(x))]
    if not math.isfinite(value):
        return decimals
    for places in range(decimals, MAX_DECIMALS + 1):
        shown = round(value, places)
        if all(_side(shown, limit) == _side(value, limit) for limit in limits):
            return places
    return MAX_DECIMALS


def _side(value: float, limit: float) -> int:
    return (value > limit) - (value < limit)


def format_move(
    value: float | Unavailable | None,
    locale: Locale,
    *,
    thresholds: Iterable[float] = (),
    decimals: int = 2,
) -> str:
    """A move in percent (``−9.15 %``), with more digits where a threshold needs them;
    "n/a" / "없음" when unavailable."""
    if value is None or isinstance(value, Unavailable) or not math.isfinite(value):
        return t("common.na", locale)
    return format_pct(value, locale, decimals=decimals_near(value, thresholds, decimals))


def source_label(label: str, symbol: str, via_proxy: bool, locale: Locale = "en") -> str:
    """How a figure's source is named: ``DJI`` or ``DJI (proxy DIA)`` / ``DJI (DIA 대용)``
    when a proxy served it."""
    return t("alert.proxy_label", locale, index=label, symbol=symbol) if via_proxy else label


_PROXY_NAMED = re.compile(r"^(?P<index>.+) \(proxy (?P<symbol>[^()\s]+)\)$")


def localized_source(name: str, locale: Locale) -> str:
    """A stored `source_label` name (`SPX (proxy SPY)`, language-neutral in events and
    similar sessions) in `locale`: `SPX (SPY 대용)` on Korean cards."""
    found = _PROXY_NAMED.match(name)
    if found is None or locale == "en":
        return name
    return source_label(found["index"], found["symbol"], True, locale)


def named_figure(
    resolved: Resolved, locale: Locale, *, thresholds: Iterable[float] = (), decimals: int = 2
) -> str:
    """A metric with the name of what served it: ``DJI (proxy DIA) +0.68 %``."""
    name = source_label(resolved.instrument.label, resolved.symbol, resolved.via_proxy, locale)
    return f"{name} {format_move(resolved.value, locale, thresholds=thresholds, decimals=decimals)}"


def proxy_suffix(resolved: Resolved, shown_symbol: str, locale: Locale = "en") -> str:
    """`` (proxy SPY)`` / `` (SPY 대용)`` when this figure came from another series than the one
    its line is named after (a gap the proxy supplied under an index's row); "" otherwise."""
    if isinstance(resolved.value, Unavailable) or resolved.symbol == shown_symbol:
        return ""
    if resolved.via_proxy:
        return f" ({t('alert.proxy_suffix', locale, symbol=resolved.symbol)})"
    return f" ({resolved.symbol})"


PERCENT_METRICS = frozenset({"pct", "gap", "intraday", "vol20", "pct5", "pct20"})


def format_metric(
    metric: str,
    value: float | Unavailable | None,
    locale: Locale,
    *,
    thresholds: Iterable[float] = (),
) -> str:
    """A rule input as evaluated, in its unit: moves in percent (``−14.18 %``), ``z`` in
    sigmas (``−4.12``), prices plain (``118.42``) — each with the digits a threshold needs."""
    if value is None or isinstance(value, Unavailable) or not math.isfinite(value):
        return t("common.na", locale)
    if metric in PERCENT_METRICS:
        return format_move(value, locale, thresholds=thresholds)
    places = decimals_near(value, thresholds, 2)
    body = f"{abs(value):,.{places}f}"
    if metric == "z":
        return (MINUS if value < 0 else "+") + body if round(value, places) != 0 else body
    return (MINUS + body) if value < 0 else body
