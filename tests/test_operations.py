"""Operations: redacting structured logs, `doctor`, Prometheus metrics and /healthz."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.cli.doctor import yahoo_check
from bot.logging_setup import REDACTED, StructuredFormatter, configure_logging, redact
from bot.prometheus import Metrics, serve_metrics
from bot.stores.redis_lua_migrate import LAYOUT
from tests.stores.conftest import redis_prefix, redis_store_url
from tests.stores.own_redis import OwnRedis
from tests.stores.test_store_processes import free_port

__all__ = ["redis_prefix"]

SLACK = "xoxb-1234-5678-abcdefghijkl"
DISCORD = "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.abcdefghijklmnopqrstuvwxyz0123456789"


def test_token_shaped_strings_and_secret_values_never_reach_a_log_line() -> None:
    stream = io.StringIO()
    handler = configure_logging(
        level="debug", env={"MY_API_TOKEN": "plain-secret-value"}, stream=stream
    )
    try:
        log = logging.getLogger("slack_sdk.web")
        log.debug(
            "POST https://slack.com/api/chat.postMessage headers={'Authorization': 'Bearer %s'}",
            SLACK,
        )
        log.debug("discord token %s; redis://:hunter22@db:6379/0", DISCORD)
        log.debug("response_url=https://hooks.slack.com/commands/T1/2/abc and plain-secret-value")
        log.debug("POST /interactions/123456/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ/callback")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    for secret in (SLACK, DISCORD, "hunter22", "hooks.slack.com/commands", "plain-secret-value",
                   "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"):  # fmt: skip
        assert secret not in text
    # (An adapter's own record-factory redaction, installed by other tests, may get there
    # first with its own marker: what matters is that no secret is left.)
    assert "level=debug logger=slack_sdk.web" in text and text.count("\n") == 4


def test_json_log_lines_parse_and_are_redacted_too() -> None:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "token %s", (SLACK,), None)
    line = StructuredFormatter("json").format(record)
    assert json.loads(line)["msg"] == f"token {REDACTED}"
    assert redact("nothing secret here") == "nothing secret here"


def test_doctor_reports_each_check_names_tokens_without_values_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPUTNIK_CONFIG", "/dev/null")
    monkeypatch.setenv("SPUTNIK_STORE_URL", f"sqlite:///{tmp_path / 'doctor.db'}")
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD)
    monkeypatch.delenv("SLACK_CLIENT_SECRET", raising=False)
    assert main(["doctor", "--no-network"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("presets: deepseek") for line in lines)  # the data checks
    assert any(line.startswith("warn  store") and "not created yet" in line for line in lines)
    [tokens] = [line for line in lines if "set: DISCORD_TOKEN" in line]
    # The names come from the platform registry (bot/chat/platforms.py), Slack's OAuth too.
    assert "SLACK_CLIENT_SECRET" in tokens.split("unset: ")[1]
    assert DISCORD not in out


def test_doctor_says_an_in_memory_store_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPUTNIK_CONFIG", "/dev/null")
    monkeypatch.setenv("SPUTNIK_STORE_URL", "memory://")
    assert main(["doctor", "--no-network"]) == 0
    lines = capsys.readouterr().out.splitlines()
    [store] = [line for line in lines if " store: " in line]
    [persistence] = [line for line in lines if " persistence: " in line]
    assert store.split()[0] == "ok" and "memory" in store
    assert persistence.split()[0] == "warn"
    assert "nothing is kept when the process ends" in persistence


@pytest.mark.parametrize(("appendonly", "verdict"), [(True, "ok"), (False, "warn")])
def test_doctor_warns_when_redis_has_no_aof(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    appendonly: bool,
    verdict: str,
) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH (run the tests through `make test`)")
    server = OwnRedis(tmp_path, free_port(), appendonly=appendonly)
    server.start()
    try:
        monkeypatch.setenv("SPUTNIK_CONFIG", "/dev/null")
        monkeypatch.setenv("SPUTNIK_STORE_URL", server.url)
        main(["doctor", "--no-network"])
    finally:
        server.kill()
    out = capsys.readouterr().out.splitlines()
    [persistence] = [line for line in out if " persistence: " in line]
    assert persistence.split()[0] == verdict
    assert ("AOF on" in persistence) is appendonly


def test_the_yahoo_check_is_one_request_and_a_failure_is_a_warning() -> None:
    asked: list[str] = []

    def answer(url: str) -> int:
        asked.append(url)
        return 200

    assert yahoo_check(answer)[0] == "ok" and len(asked) == 1

    def refuse(url: str) -> int:
        raise OSError("no route")

    assert yahoo_check(refuse)[0] == "warn"


async def test_metrics_and_healthz_are_served_on_the_configured_port(
    unused_tcp_port: int,
) -> None:
    metrics = Metrics()
    metrics.polls.labels("yahoo-poll", "safety").inc()
    metrics.print_to_persisted.observe(0.2)
    runner = await serve_metrics(metrics, unused_tcp_port, lambda: True, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{unused_tcp_port}"
            async with session.get(f"{base}/healthz") as health:
                assert health.status == 200
            async with session.get(f"{base}/metrics") as page:
                body = await page.text()
    finally:
        await runner.cleanup()
    assert 'sputnik_polls_total{feed="yahoo-poll",reason="safety"} 1.0' in body
    assert "sputnik_print_to_persisted_seconds_bucket" in body


async def _created(url: str) -> None:
    from bot.stores import open_store

    store = await open_store(url)
    await store.close()


def test_doctor_prints_the_sqlite_schema_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.stores.sqlite_schema import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    asyncio.run(_created(url))
    monkeypatch.setenv("SPUTNIK_CONFIG", "/dev/null")
    monkeypatch.setenv("SPUTNIK_STORE_URL", url)
    main(["doctor", "--no-network"])
    [line] = [line for line in capsys.readouterr().out.splitlines() if " store: " in line]
    assert line.startswith("ok") and line.endswith(f"reachable, schema {len(MIGRATIONS)}")


def test_doctor_prints_the_redis_layout_number(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = redis_store_url(redis_prefix)
    asyncio.run(_created(url))
    monkeypatch.setenv("SPUTNIK_CONFIG", "/dev/null")
    monkeypatch.setenv("SPUTNIK_STORE_URL", url)
    main(["doctor", "--no-network"])
    [line] = [line for line in capsys.readouterr().out.splitlines() if " store: " in line]
    assert line.startswith("ok") and line.endswith(f"reachable, schema {LAYOUT}")
