"""bot/redaction.py: one module, one marker, every kind of Discord and Slack secret."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_services
from bot.redaction import REDACTED, redact, secret_values
from bot.services import Core
from bot.settings import build_settings
from bot.stores.memory import MemoryStore
from handlers.registry import load_registry

DISCORD = "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.abcdefghijklmnopqrstuvwxyz0123456789"
INTERACTION = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"

CASES = {
    "discord bot token": (f"token {DISCORD}", DISCORD),
    "discord authorization header": (f"Authorization: Bot {DISCORD}", DISCORD),
    "discord interaction URL": (f"POST /interactions/123456/{INTERACTION}/callback", INTERACTION),
    "discord webhook URL": (
        f"PATCH /webhooks/99887766/{INTERACTION}/messages/@original",
        INTERACTION,
    ),
    "interaction token field": ("{'id': '1', 'token': 'tok_SECRET_abc'}", "tok_SECRET_abc"),
    "json token field": ('{"type": 2, "token": "tok_SECRET_def"}', "tok_SECRET_def"),
    "slack bot token": ("token=xoxb-1234-5678-abcdefghijkl", "xoxb-1234-5678-abcdefghijkl"),
    "slack user token": ("xoxp-1234-5678-abcdefghijkl in body", "xoxp-1234-5678-abcdefghijkl"),
    "slack app token": ("app token xapp-1-A1B2-3-zzzz", "xapp-1-A1B2-3-zzzz"),
    "slack refresh token": ("{'refresh_token': 'xoxe-1-refreshzz'}", "xoxe-1-refreshzz"),
    "slack rotating token": ("xoxe.xoxb-1-rotatingzz", "rotatingzz"),
    "slack client secret": ("client_id=1.2&client_secret=cs3cr3tvalue", "cs3cr3tvalue"),
    "slack client secret field": ("{'client_secret': 'cs3cr3tvalue'}", "cs3cr3tvalue"),
    "slack signing secret field": ('{"signing_secret": "ss3cr3tvalue"}', "ss3cr3tvalue"),
    "oauth code": ("GET /slack/oauth_redirect?code=1234.5678", "1234.5678"),
    "oauth state": ("GET /slack/oauth_redirect?code=1&state=s3cr3tstate", "s3cr3tstate"),
    "oauth form code": ("body: code=9876.5432&client_id=1", "9876.5432"),
    "slack response_url": ("https://hooks.slack.com/commands/T1/123/abcSECRET", "abcSECRET"),
    "slack webhook": ("https://hooks.slack.com/services/T1/B2/whSECRET", "whSECRET"),
    "fake response_url": ("http://127.0.0.1:9/commands/T1/1/fakeSECRET", "fakeSECRET"),
    "URL password": ("redis://:hunter22@db:6379/0", "hunter22"),
    "URL user and password": ("postgres://bot:hunter23@db/x", "hunter23"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_of_secret_is_redacted_with_the_one_marker(kind: str) -> None:
    line, secret = CASES[kind]
    shown = redact(line)
    assert secret not in shown
    assert REDACTED in shown


def test_secret_environment_values_are_redacted_wherever_they_appear() -> None:
    secrets = secret_values({"SLACK_SIGNING_SECRET": "abc123signing", "HOME": "/home/me"})
    assert secrets == ["abc123signing"]
    assert redact("sig abc123signing home /home/me", secrets) == f"sig {REDACTED} home /home/me"


def test_plain_text_and_ordinary_urls_are_left_alone() -> None:
    text = "POST https://discord.com/api/v10/channels/123/messages status=200 encode=ok"
    assert redact(text) == text


def test_the_redaction_module_imports_neither_discord_nor_slack() -> None:
    code = (
        "import sys, bot.redaction, bot.logging_setup; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('discord', 'slack_bolt', "
        "'slack_sdk')]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_the_chat_adapters_register_their_secrets_with_the_one_redactor(
    core: Core, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.chat.discord.app import build_runtime as discord_runtime
    from bot.chat.slack.app import build_runtime as slack_runtime

    settings = build_settings({})
    services = build_services(core, MemoryStore())
    registry = load_registry()
    # Literal secrets that no token pattern matches: only their registration hides them.
    discord = discord_runtime(
        settings, services, registry, {"DISCORD_TOKEN": "literal-discord-secret"}
    )
    slack_env = {"SLACK_BOT_TOKEN": "literal-slack-secret", "SLACK_APP_TOKEN": "literal-app-key"}
    slack = slack_runtime(settings, services, registry, slack_env)
    assert discord is not None and slack is not None
    try:
        caplog.set_level(logging.DEBUG)
        logging.getLogger("discord.http").debug("a literal-discord-secret b literal-slack-secret")
        logging.getLogger("slack_sdk").debug("literal-app-key /webhooks/1/%s", INTERACTION)
        text = caplog.text
        for secret in ("literal-discord-secret", "literal-slack-secret", "literal-app-key",
                       INTERACTION):  # fmt: skip
            assert secret not in text
        assert text.count(REDACTED) == 4
    finally:
        await slack.close()
        await discord.close()
