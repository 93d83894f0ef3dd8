"""The layers, held: an import that runs back up the architecture fails this test.

Walks every module's imports with `ast` (module-level and function-level alike, so a lazy
import counts too) and checks the rules of docs/architecture.md. No allowlist of exceptions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "jobs")
COMPOSITION_ROOT = (
    "bot.app",
    "bot.app_market",
    "bot.runner",
    "bot.harness",
    "bot.cli",
    "bot.__main__",
)
YAHOO_MODULES = (
    "bot.feeds.yahoo_poll",
    "bot.feeds.yahoo_stream",
    "bot.feeds.yahoo_vendor",
    "bot.news.yahoo",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module `path` imports (absolute names), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _rules(module: str) -> list[tuple[tuple[str, ...], str]]:
    """The (forbidden prefixes, why) that apply to `module`."""
    rules: list[tuple[tuple[str, ...], str]] = []
    if _within(module, ("bot.domain",)):
        rules.append(
            (
                (
                    "bot.stores",
                    "bot.services",
                    "bot.ports",
                    "bot.feeds",
                    "bot.chat",
                    "bot.news",
                    "jobs",
                    "handlers",
                    *COMPOSITION_ROOT,
                ),
                "the domain imports nothing outside the domain",
            )
        )
    if _within(module, ("jobs", "handlers")):
        rules.append(
            (
                ("bot.stores", "bot.chat", "bot.prometheus", *YAHOO_MODULES, *COMPOSITION_ROOT),
                "jobs and handlers reach stores, chat, vendors and metrics through the ports",
            )
        )
    if _within(module, ("bot.chat",)):
        rules.append((("bot.stores",), "chat adapters reach the store through its role ports"))
    libraries = {
        "yfinance": YAHOO_MODULES,
        "discord": ("bot.chat.discord",),
        "slack_bolt": ("bot.chat.slack",),
        "slack_sdk": ("bot.chat.slack",),
        "redis": ("bot.stores",),
        "prometheus_client": ("bot.prometheus",),
    }
    for library, owners in libraries.items():
        if not _within(module, owners):
            rules.append(((library,), f"only {', '.join(owners)} may import {library}"))
    return rules


def _violations() -> list[str]:
    found: list[str] = []
    for path in _modules():
        module = _module_name(path)
        for forbidden, why in _rules(module):
            for line, imported in _imports(path):
                if _within(imported, forbidden):
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {imported} ({why})")
    return sorted(set(found))


def test_no_import_runs_back_up_the_layers() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("bot.domain.alert_card", "bot.stores.port"),
        ("jobs.evaluate", "bot.feeds.yahoo_poll"),
        ("handlers.shock", "bot.app"),
        ("bot.chat.slack.sink", "bot.stores.sqlite"),
        ("bot.domain.analysis", "yfinance"),
        ("jobs.deliver", "discord"),
        ("jobs.pipeline", "bot.prometheus"),
        ("handlers.quote", "prometheus_client"),
    ],
)
def test_the_rules_catch_an_import_that_runs_back_up(module: str, imported: str) -> None:
    assert any(_within(imported, forbidden) for forbidden, _ in _rules(module))
