"""`[slack]` settings, the mode choice, the manifest and the `slack` CLI sub-command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.slack.app import _mode
from bot.chat.slack.config import BOT_SCOPES, SlackConfig, SlackSecrets
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = (ROOT / "slack-manifest.yml").read_text(encoding="utf-8")
EVENTS = ROOT / "bot" / "chat" / "slack" / "events.py"


def test_defaults_are_socket_mode_on_slack_com_with_port_from_the_environment() -> None:
    settings = load_settings(env={"SPUTNIK_CONFIG": os.devnull, "PORT": "8080"})
    config = SlackConfig.from_settings(settings)
    assert config.mode == "socket" and config.port == 8080
    assert config.api_base == "https://slack.com/api/"
    assert config.scopes == BOT_SCOPES and config.short_commands == ("shock",)
    http = load_settings(env={"SPUTNIK_CONFIG": os.devnull, "SLACK_MODE": "http"})
    assert SlackConfig.from_settings(http).mode == "http"


def test_a_govslack_api_base_and_a_bad_mode_are_read_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[slack]\napi_base = "https://slack-gov.com/api/"\nmode = "pigeon"\n')
    with pytest.raises(SettingsError, match='mode: "pigeon" is not one of socket, http'):
        load_settings(path, env={})
    path.write_text('[slack]\napi_base = "https://slack-gov.com/api/"\n')
    assert SlackConfig.from_settings(load_settings(path, env={})).api_base.startswith(
        "https://slack-gov.com"
    )


def test_socket_mode_without_an_app_token_needs_http_and_the_signing_secret() -> None:
    socket = SlackConfig()
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        _mode(socket, SlackSecrets(bot_token="xoxb-1"))
    assert _mode(socket, SlackSecrets(bot_token="xoxb-1", signing_secret="s")).mode == "http"
    with pytest.raises(SettingsError, match="SIGNING_SECRET"):
        _mode(SlackConfig(mode="http"), SlackSecrets(bot_token="xoxb-1"))


def test_secrets_never_show_in_their_repr() -> None:
    assert "xoxb" not in repr(SlackSecrets(bot_token="xoxb-1-2-3", signing_secret="abc"))


def test_the_manifest_declares_the_commands_scopes_and_events_the_app_uses() -> None:
    assert "command: /sputnik" in MANIFEST and "command: /shock" in MANIFEST
    declared = set(re.findall(r"^\s+- ([a-z.:_]+)$", MANIFEST, re.MULTILINE))
    assert set(BOT_SCOPES) <= declared
    listened = set(re.findall(r'app\.event\("([a-z_]+)"\)', EVENTS.read_text()))
    assert listened <= declared
    assert "socket_mode_enabled: true" in MANIFEST


def test_slack_manifest_prints_the_shipped_manifest() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "slack", "manifest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == MANIFEST


def test_the_procfile_serves_slack_over_http_on_the_web_line() -> None:
    procfile = (ROOT / "Procfile").read_text()
    assert "web: python -m bot slack web" in procfile


@pytest.mark.parametrize(
    ("what", "refusal"),
    [
        ("socket", 'Slack Socket Mode needs SLACK_APP_TOKEN (or set mode = "http")'),
        ("web", "Slack HTTP mode needs SLACK_SIGNING_SECRET"),
    ],
)
def test_slack_web_and_socket_choose_the_mode_without_touching_the_environment(
    what: str,
    refusal: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_MODE", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-bot-token-for-the-test")
    monkeypatch.setenv("SPUTNIK_CONFIG", os.devnull)
    monkeypatch.setenv("SPUTNIK_STORE_URL", f"sqlite:///{tmp_path / 'slack.db'}")
    assert main(["slack", what, "--only-slack"]) == 2
    assert capsys.readouterr().err == f"error: {refusal}\n"
    assert "SLACK_MODE" not in os.environ


def test_slack_web_only_slack_serves_http_on_port_until_sigterm(tmp_path: Path) -> None:
    import signal
    import urllib.request

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "SPUTNIK_CONFIG": os.devnull,
        "SPUTNIK_STORE_URL": f"sqlite:///{tmp_path / 'slack.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-2-bot-token-for-the-test",
        "SLACK_SIGNING_SECRET": "signing-secret-for-the-test",
        "PORT": "0",  # any free port; the line says which
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "slack", "web", "--only-slack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server is up (or the process ends)
        serving = re.fullmatch(r"slack: serving \(http, port (\d+)\)\n", line)
        assert serving, line + (process.stderr.read() if process.stderr else "")
        health = f"http://127.0.0.1:{serving[1]}/healthz"
        with urllib.request.urlopen(health, timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
