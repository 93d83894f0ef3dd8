"""The operator console: `console --channel PLATFORM:WORKSPACE:CHANNEL` acts as its admin."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from bot.app import bootstrap
from bot.chat.console.app import run_console
from bot.domain.model import ChannelRef
from bot.services import Core
from tests.conftest import PROJECT_ROOT, PYTHON

CHANNEL = ChannelRef("discord", "4004", "5005")


async def test_an_operator_subscribes_a_discord_channel_from_the_server(
    core: Core, tmp_path: Path
) -> None:
    app = await bootstrap(core.settings, store_url=f"sqlite:///{tmp_path / 'op.db'}", core=core)
    out = io.StringIO()
    try:
        await run_console(
            app.services,
            app.registry,
            language="ko",
            chart_dir=tmp_path,
            stream=io.StringIO("/subscribe alerts deepseek\n"),
            out=out,
            channel=CHANNEL,
        )
        subscriptions = await app.store.list_subscriptions(CHANNEL)
        channel = await app.store.get_channel(CHANNEL)
    finally:
        await app.close()
    assert [s.rule_id for s in subscriptions] == ["deepseek"]
    assert channel is not None and channel.language == "ko"
    assert "deepseek" in out.getvalue()


def test_a_malformed_channel_is_refused_with_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "SPUTNIK_CONFIG": os.devnull, "PYTHONPATH": str(PROJECT_ROOT)}
    env["SPUTNIK_STORE_URL"] = f"sqlite:///{tmp_path / 'op.db'}"
    done = subprocess.run(
        [PYTHON, "-m", "bot", "console", "--channel", "discord-5005"],
        input="/help\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2 and "PLATFORM:WORKSPACE:CHANNEL" in done.stderr
