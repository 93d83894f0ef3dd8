"""The command line: global options anywhere, help for users, warnings where they matter,
and a cold start that reads only what the command needs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_core
from bot.cli import build_parser, main
from bot.domain.backtest import run_backtest
from bot.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["replay", "2025-01-27", "-v"], True),
        (["-v", "replay", "2025-01-27"], True),
        (["replay", "2025-01-27"], False),
        (["backtest", "deepseek", "--verbose"], True),
    ],
)
def test_global_options_work_after_the_sub_command_too(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose


def test_the_help_says_what_each_command_does_for_a_user() -> None:
    text = build_parser().format_help()
    assert "argparse" not in text and "module" not in text
    assert "Replay a past session" in text
    for command in ("replay", "backtest", "console", "outbox", "doctor"):
        assert re.search(rf"^\s+{command}\s+\w", text, re.M), command


def test_the_known_data_warnings_are_not_printed_on_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backtest", "deepseek", "--from", "2025-01-01", "--to", "2025-02-01"]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err and "known data warnings" not in err


def test_verbose_and_doctor_list_the_data_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    # the 12 documented in data/history/README.md (^SOX's open, the futures' missing holidays, …)
    assert "12 data warning(s)" in out and "^SOX.csv" in out and "NQ=F.csv" in out
    assert main(["backtest", "deepseek", "--from", "2025-01-01", "--to", "2025-02-01", "-v"]) == 0
    assert capsys.readouterr().err.count("warning: ") == 12


def test_a_backtest_reads_only_the_files_its_rule_needs() -> None:
    core = build_core(load_settings(env={"SPUTNIK_CONFIG": os.devnull}))
    assert core.market.read_symbols == []
    run_backtest(core.market, core.presets["deepseek"])
    # the Dow itself, its proxy for the sessions after ^DJI's file ends, SOX: not the 41 others
    assert core.market.read_symbols == ["DIA", "^DJI", "^SOX"]


def test_the_domain_no_longer_imports_the_feeds_package() -> None:
    for path in (PROJECT_ROOT / "bot" / "domain").rglob("*.py"):
        assert "bot.feeds" not in path.read_text(encoding="utf-8"), path


HEAVY = ("matplotlib", "apscheduler", "discord", "slack_bolt", "slack_sdk", "aiohttp", "redis")
MODULES_AFTER = (
    "import sys; from bot.cli import main; code = main(sys.argv[1:]); "
    "print('modules:', *sorted(sys.modules)); sys.exit(code)"
)


def test_a_backtest_loads_no_chat_platform_scheduler_chart_nor_redis() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER, "backtest", "deepseek"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SPUTNIK_CONFIG": os.devnull},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    last = done.stdout.splitlines()[-1]
    assert last.startswith("modules: ")
    loaded = {name.split(".")[0] for name in last.split()[1:]}
    assert "pydantic" in loaded  # the settings were validated, inside the same budget
    assert sorted(loaded & set(HEAVY)) == []
