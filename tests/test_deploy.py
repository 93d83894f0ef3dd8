"""A home for the operator (issue 23 item 5): the Dockerfile, compose.yaml and the systemd unit
say what the README promises, and their health checks really probe /healthz.

No container engine runs here: `make lint` lints the Dockerfile with hadolint, and these tests
read the files (compose.yaml with PyYAML) and run the health-check commands themselves against
the bot's real metrics server.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.prometheus import Metrics, serve_metrics

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions (continuation lines joined), by keyword."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword.upper(), []).append(rest.strip())
    return found


def compose() -> dict[str, Any]:
    """compose.yaml as data."""
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def live_section() -> str:
    """The README's section on running the bot live (where the deployment is shown)."""
    start = README.index("## Running the bot live")
    return README[start : README.index("\n## ", start + 1)]


def exec_form(text: str) -> list[str]:
    """A JSON exec-form instruction (`["python", "-m", "bot"]`) as a list."""
    value = json.loads(text)
    assert isinstance(value, list)
    return [str(part) for part in value]


def test_the_dockerfile_runs_the_bot_as_a_non_root_user_on_a_slim_python() -> None:
    found = dockerfile()
    [base] = found["FROM"]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    [user] = found["USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert exec_form(found["ENTRYPOINT"][0]) + exec_form(found["CMD"][0]) == [
        "python",
        "-m",
        "bot",
        "run",
    ]
    assert any("data/" in line for line in found["COPY"]), "the history is baked in"
    assert exec_form(found["VOLUME"][0]) == ["/var/lib/sputnik"]
    env = " ".join(found["ENV"])
    assert "SPUTNIK_STORE_URL=sqlite:////var/lib/sputnik/sputnik.db" in env
    assert "SPUTNIK_METRICS_PORT=9108" in env and found["EXPOSE"] == ["9108"]


def test_compose_runs_redis_with_aof_and_the_bot_with_the_volumes_the_readme_names() -> None:
    data = compose()
    services, volumes = data["services"], data["volumes"]
    assert set(services) == {"redis", "bot"}
    redis = services["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    bot = services["bot"]
    assert bot["build"] == "."
    assert bot["environment"]["SPUTNIK_STORE_URL"].startswith("redis://redis:6379/")
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    mounted = {entry.split(":")[0] for s in services.values() for entry in s["volumes"]}
    assert mounted == set(volumes) == {"redis-data", "sputnik-data"}
    section = live_section()
    for name in [*services, *volumes]:
        assert f"`{name}`" in section, f"the README's live section names `{name}`"
    assert "compose.yaml" in section and "Dockerfile" in section
    assert "deploy/sputnik.service" in section


def test_the_systemd_unit_runs_the_bot_as_its_own_user_and_restarts_it() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((ROOT / "deploy" / "sputnik.service").read_text(encoding="utf-8"))
    service = unit["Service"]
    assert shlex.split(service["ExecStart"])[1:] == ["-m", "bot", "run"]
    assert service["User"] == "sputnik" and service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def health_commands() -> list[list[str]]:
    """The Dockerfile's and compose's HEALTHCHECK commands (exec form, after `CMD`)."""
    [check] = dockerfile()["HEALTHCHECK"]
    image = exec_form(check[check.index("CMD") + 3 :].strip())
    composed = compose()["services"]["bot"]["healthcheck"]["test"]
    assert image[0] == composed[1] == "python", "slim images have no curl"
    return [image, composed[1:]]


async def _run(command: list[str], port: int) -> int:
    env = {**os.environ, "SPUTNIK_METRICS_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


@pytest.mark.parametrize("healthy", [True, False])
async def test_the_health_checks_probe_the_bots_healthz(
    healthy: bool, unused_tcp_port: int
) -> None:
    runner = await serve_metrics(Metrics(), unused_tcp_port, lambda: healthy, host="127.0.0.1")
    try:
        codes = [await _run(command, unused_tcp_port) for command in health_commands()]
    finally:
        await runner.cleanup()
    assert codes == ([0, 0] if healthy else [1, 1])


async def test_a_health_check_fails_when_nothing_listens(unused_tcp_port: int) -> None:
    codes = [await _run(command, unused_tcp_port) for command in health_commands()]
    assert codes == [1, 1]
