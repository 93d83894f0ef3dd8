"""`[slack]` settings, the mode choice, the manifest and the `slack` CLI sub-command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.slack_app import _mode
from bot.chat.slack_config import BOT_SCOPES, SlackConfig, SlackSecrets
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = (ROOT / "slack-manifest.yml").read_text(encoding="utf-8")
EVENTS = ROOT / "bot" / "chat" / "slack_events.py"


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
