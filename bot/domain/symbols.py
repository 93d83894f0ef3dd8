"""Instruments and their aliases: `SOX` → `^SOX`, `DJI` → `^DJI` with proxy `DIA`.

Aliases are market facts and live in config (`[aliases]` in the packaged defaults and
`config.toml`); this module only turns them into a lookup with "did you mean" help.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.i18n import t


@dataclass(frozen=True)
class Instrument:
    """What a rule or a command names: an alias or a Yahoo symbol, with an optional proxy."""

    label: str
    """How outputs name it: the alias (`DJI`) or the Yahoo symbol (`NVDA`)."""
    symbol: str
    """The Yahoo symbol of the real series (`^DJI`)."""
    proxy: str | None = None
    """The Yahoo symbol used when `symbol` has no data (`DIA`)."""
    name_ko: str = field(default="", compare=False)
    """The name Korean readers know it by (`SK하이닉스`), where config gives one."""

    def display(self, locale: str) -> str:
        """How a card in `locale` names it: the Korean name on Korean cards, else the label."""
        return self.name_ko if locale == "ko" and self.name_ko else self.label

    @property
    def key(self) -> str:
        """A stable identity for caching and slot tables."""
        return f"{self.symbol}|{self.proxy or ''}"


NAMES_KO_FILE = Path(__file__).with_name("names_ko.toml")


@functools.cache
def korean_names() -> dict[str, str]:
    """What Korean traders type for a symbol (`엔비디아` → `NVDA`), keys without spaces."""
    with NAMES_KO_FILE.open("rb") as handle:
        table = tomllib.load(handle)
    return {"".join(name.split()).upper(): str(target) for name, target in table.items()}


class UnknownSymbolError(LookupError):
    """A name that is neither an alias nor a known Yahoo symbol."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        if suggestions:
            alternatives = t("rule_error.or", "en").join(suggestions)
            message = t("rule_error.unknown_symbol", "en", symbol=name, suggestions=alternatives)
        else:
            message = t("rule_error.unknown_symbol_no_suggestion", "en", symbol=name)
        super().__init__(message)


class SymbolBook:
    """Resolves aliases and Yahoo symbols to instruments."""

    def __init__(self, aliases: Mapping[str, Instrument], known_symbols: Iterable[str]) -> None:
        self._aliases = {name.upper(): inst for name, inst in aliases.items()}
        self._known = {s.upper(): s for s in known_symbols}
        for inst in self._aliases.values():
            self._known.setdefault(inst.symbol.upper(), inst.symbol)
            if inst.proxy:
                self._known.setdefault(inst.proxy.upper(), inst.proxy)
        self._by_symbol = {inst.symbol.upper(): inst for inst in self._aliases.values()}

    @classmethod
    def from_config(cls, section: Mapping[str, Any], known_symbols: Iterable[str]) -> SymbolBook:
        """Build from an `[aliases]` table: `DJI = { symbol = "^DJI", proxy = "DIA" }`
        (optionally `name_ko = "SK하이닉스"`)."""
        aliases: dict[str, Instrument] = {}
        for name, spec in section.items():
            if isinstance(spec, str):
                aliases[name] = Instrument(name.upper(), spec)
            else:
                aliases[name] = Instrument(
                    name.upper(),
                    str(spec["symbol"]),
                    spec.get("proxy"),
                    str(spec.get("name_ko", "")),
                )
        return cls(aliases, known_symbols)

    @property
    def aliases(self) -> Mapping[str, Instrument]:
        """Alias name → instrument."""
        return self._aliases

    def is_known(self, name: str) -> bool:
        """True if `name` resolves."""
        return name.upper() in self._aliases or name.upper() in self._known

    def resolve(self, name: str, *, quoted: bool = False) -> Instrument:
        """An alias (unquoted, case-insensitive) or a Yahoo symbol (quoted or plain)."""
        upper = name.strip().upper()
        if not quoted and upper in self._aliases:
            return self._aliases[upper]
        aliased = self._by_symbol.get(upper)
        if aliased is not None and (aliased.proxy or upper.startswith("^")):
            return aliased  # an index named by its Yahoo symbol: its alias, with the proxy
        if upper in self._known:
            symbol = self._known[upper]
            return Instrument(symbol, symbol)
        if quoted and upper in self._aliases:
            return self._aliases[upper]
        korean = korean_names().get("".join(name.split()).upper())
        if korean is not None and korean.upper() != upper:
            return self.resolve(korean)
        raise UnknownSymbolError(name, self.suggest(name))

    def suggest(self, name: str, limit: int = 2) -> list[str]:
        """Close matches among aliases and known symbols, best first."""
        behind_aliases = {inst.symbol.upper() for inst in self._aliases.values()}
        pool = list(self._aliases) + [
            s
            for s in self._known.values()
            if s.upper() not in self._aliases and s.upper() not in behind_aliases
        ]
        upper = name.upper()
        matches = difflib.get_close_matches(upper, [p.upper() for p in pool], n=limit, cutoff=0.6)
        by_upper = {p.upper(): p for p in pool}
        prefix = [p for p in pool if p.upper().startswith(upper) and p.upper() not in matches]
        return [by_upper[m] for m in matches] + prefix[: max(0, limit - len(matches))]
