"""`python -m bot slack web` (the Procfile's web: line) serves Slack over HTTP on $PORT."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.chat.slack.conftest import TOKEN
from tests.chat.slack.slack_helpers import SECRET, command_body, post_signed
from tests.fakes.slack_fake import SlackFake

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
async def test_slack_web_answers_a_signed_command_and_logs_no_token_at_debug_level(
    slack: SlackFake, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    store = tmp_path / "sputnik.db"
    config.write_text(f'[slack]\napi_base = "{slack.url}"\n[store]\nurl = "sqlite:///{store}"\n')
    env = dict(
        os.environ,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        PORT="0",
        SPUTNIK_CONFIG=str(config),
    )
    env.pop("SLACK_APP_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "slack", "web", "--only-slack",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        port = re.search(r"port (\d+)", line)
        assert port is not None, line
        url = f"http://127.0.0.1:{port.group(1)}/slack/events"
        assert await post_signed(url, command_body(slack, "help")) == 200
        await slack.wait_for(lambda: slack.responses, timeout=30)
        assert slack.responses[0]["response_type"] == "ephemeral"
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    log = err.decode()
    assert "DEBUG" in log
    for secret in (TOKEN, SECRET, slack.response_url("r1")):
        assert secret not in log
