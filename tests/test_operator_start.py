"""Operators see what runs (issue 23 item 4): a Slack command without Slack's tokens is a usage
error, the Procfile's web: line serves Slack's HTTP side alone, and `run` says per platform
whether it is on and why not."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.platforms import status_lines
from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_MODE",
)


@pytest.mark.parametrize(
    ("words", "other"),
    [
        (["slack", "web"], "SLACK_SIGNING_SECRET"),
        (["slack", "web", "--only-slack"], "SLACK_SIGNING_SECRET"),
        (["slack", "socket"], "SLACK_APP_TOKEN"),
    ],
)
def test_a_slack_command_without_slacks_tokens_is_a_one_line_usage_error(
    words: list[str],
    other: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPUTNIK_CONFIG", os.devnull)
    monkeypatch.setenv("SPUTNIK_STORE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    assert main(words) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {' '.join(words[:2])} needs Slack's tokens: set SLACK_BOT_TOKEN (or "
        f"SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) and {other}\n"
    )
    assert not (tmp_path / "never.db").exists(), "nothing was started, not even the store"


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, _, command in (ln.partition(": ") for ln in lines)}


def test_only_slack_is_documented_where_operators_look() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`--only-slack`" in readme
    done = subprocess.run(
        [sys.executable, "-m", "bot", "slack", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "--only-slack" in done.stdout and "no scheduler" in done.stdout


def test_the_procfiles_web_line_serves_slacks_http_side_and_no_scheduler(tmp_path: Path) -> None:
    web, worker = procfile()["web"], procfile()["worker"]
    assert web == ["python", "-m", "bot", "slack", "web", "--only-slack"]
    assert worker == ["python", "-m", "bot", "run"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "SPUTNIK_CONFIG": os.devnull,
        "SPUTNIK_STORE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-2-bot-token-for-the-test",
        "SLACK_SIGNING_SECRET": "signing-secret-for-the-test",
        "PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, *web[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()  # blocks until it serves (or the process ends)
        assert line.startswith("slack: serving (http, port "), line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        log = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    for sign in ("run started", "scheduler", "backfill", "delivery worker"):
        assert sign not in log, f"the web process must not run the bot ({sign!r} in its log)"


NO_SLACK = (
    "platform slack: off (SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) not set)"
)


def test_run_says_for_each_platform_whether_it_is_on_and_why_not() -> None:
    env = {"DISCORD_TOKEN": "x"}
    assert status_lines(env, delivering=True, chosen=None, started={"discord"}, failed=()) == [
        "platform discord: on",
        NO_SLACK,
    ]
    assert status_lines(env, delivering=True, chosen=None, started=(), failed={"discord"}) == [
        NO_SLACK
    ], "a platform that failed to start already said so in its own line"
    replay = status_lines(env, delivering=False, chosen=None, started=(), failed=())
    assert replay[0] == (
        "platform discord: off (a replay sends to the console only; --deliver sends here too)"
    )
    web = status_lines(
        {"SLACK_BOT_TOKEN": "x", "DISCORD_TOKEN": "y"},
        delivering=True,
        chosen={"slack"},
        started={"slack"},
        failed=(),
    )
    assert web == ["platform discord: off (not served by this process)", "platform slack: on"]
