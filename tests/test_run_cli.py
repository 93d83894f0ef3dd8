"""`python -m bot run` options: replay-only flags and bad numbers are one-line usage errors."""

from __future__ import annotations

import time

import pytest

from bot.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["--speed", "5"],
        ["--start-at", f"{time.time():.0f}"],
        ["--deliver"],
        ["--store", "sqlite:///elsewhere.db"],
        ["--start-file", "start.txt"],
    ],
)
def test_a_replay_only_option_without_replay_is_a_one_line_usage_error_not_a_live_bot(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{argv[0]}: only with --replay" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "nan"], "--speed must be a finite number"),
        (["--speed", "inf"], "--speed must be a finite number"),
        (["--speed", "0"], "--speed must be above 0 and at most 100000"),
        (["--speed=-3"], "--speed must be above 0 and at most 100000"),
        (["--speed", "100001"], "--speed must be above 0 and at most 100000"),
        (["--speed", "fast"], "--speed must be a number"),
        (["--start-at", "nan"], "--start-at must be a finite number"),
        (["--start-at=-inf"], "--start-at must be a finite number"),
        (["--start-at", f"{time.time() - 2 * 86400:.0f}"], "within a day of now"),
        (["--start-at", f"{time.time() + 2 * 86400:.0f}"], "within a day of now"),
        (
            ["--start-at", f"{time.time():.0f}", "--start-file", "start.txt"],
            "--start-at and --start-file: give one of them, not both",
        ),
    ],
)
def test_a_bad_speed_or_start_is_a_one_line_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--replay", "2025-01-27", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
