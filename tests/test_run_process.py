"""`python -m bot run` in subprocesses: a whole replay, SIGTERM, SQLite refusal, two on Redis."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.cli.run import REPLAY_CHANNEL, seed_replay_store
from bot.domain.model import Channel, ChannelRef, OutboxItem, Subscription
from bot.readiness import write_atomically
from bot.stores import open_store
from tests.conftest import PROJECT_ROOT, PYTHON
from tests.stores.conftest import redis_prefix, redis_store_url

__all__ = ["redis_prefix"]  # the fixture, for the two-instance test

PRESETS = ["deepseek", "chip_crash", "nvda_decoupling", "ai_power_unwind"]
TOKENS = {
    "DISCORD_TOKEN": "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.s3cr3t-discord-token-value-0123456789",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-s3cr3tslackbot",
    "SLACK_APP_TOKEN": "xapp-1-A111-2222-s3cr3tslackapp",
    "SLACK_SIGNING_SECRET": "s3cr3t-signing-secret-abcdef",
}
PATIENCE = 600.0
"""Seconds before a test gives up on a process: a bound against a hang, never a timing
assumption (loading the history alone took 40 s beside two CPU burners)."""
SPEED = "11000"
"""The whole replays' speed: the day's 22.5 trading hours (the weekend before costs none) in
about 7 real seconds of pacing."""
DELIVERED = re.compile(r"delivered platform=(\w+) channel=(\S+) key=([^\s\"]+)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPUTNIK_")}
    env.update({"SPUTNIK_CONFIG": os.devnull, "PYTHONPATH": str(PROJECT_ROOT), **extra})
    return env


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "bot", *args],
        cwd=cwd,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path_lines: list[str], process: subprocess.Popen[str], needle: str) -> None:
    assert process.stderr is not None
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        path_lines.append(line)
        if needle in line:
            return
    raise AssertionError(f"never saw {needle!r}: {''.join(path_lines[-20:])}")


@pytest.mark.slow
def test_a_replay_runs_the_whole_bot_and_leaks_no_token_at_debug_level(tmp_path: Path) -> None:
    process = _run(
        "-v", "run", "--replay", "2025-01-27", "--speed", SPEED, cwd=tmp_path, env=_env(**TOKENS)
    )
    out, err = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0, err[-3000:]
    assert "fired: tokyo_deepseek[warning] at pre 06:30Z" in out  # 01:30 New York
    assert "fired: deepseek[critical] at close" in out
    assert "fired: chip_crash[notice] at open" in out
    # Tokyo's warning, Amsterdam's, SMH's pre-market chip crash and its escalation, the open
    # alert, the close alert, Monday's digest alone
    assert "delivered: console=7" in out
    assert "Replay of Mon 27 Jan 2025" in out and out.count("US market digest") == 1
    assert "SOX −9.15 %" in out
    assert "level=debug" in err
    for value in TOKENS.values():
        assert value not in out and value not in err


@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly_and_a_second_run_on_the_same_sqlite_file_exits_2(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"

    async def seed() -> None:
        store = await open_store(url)
        await seed_replay_store(store, PRESETS)
        notice = {"text": "a message due in an hour"}  # still pending when the run stops
        due = time.time() + 3600
        await store.enqueue_message("notice", REPLAY_CHANNEL.ref, notice, "later", due_at=due)
        await store.close()

    asyncio.run(seed())
    start = tmp_path / "start"
    first = _run(
        "run", "--replay", "2025-01-27", "--speed", "60", "--store", url,
        "--start-file", str(start), cwd=tmp_path,
    )  # fmt: skip
    seen: list[str] = []
    _wait_for(seen, first, "run ready mode=replay")  # it holds the file; its clock waits
    second = _run("run", "--replay", "2025-01-27", "--store", url, cwd=tmp_path)
    _, second_err = second.communicate(timeout=PATIENCE)
    assert second.returncode == 2
    assert "SQLite is single-instance" in second_err
    # Its clock starts at 14:30Z, a minute before the opening check: the day starts at
    # Friday's close, the weekend costs no real time, and the CME's Sunday 23:00Z reopen →
    # 14:30Z is 930 real seconds at 60x; the closing check is then 400 real seconds away.
    write_atomically(start, f"{time.time() - 930:.3f}")
    for _ in range(3):  # SMH's pre-market chip crash, its escalation, then the open alert
        _wait_for(seen, first, "delivered platform=console")
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=PATIENCE)
    assert first.returncode == 0, err[-2000:]
    assert "shutdown requested signal=SIGTERM" in "".join(seen) + err
    assert "delivered: console=3" in out
    assert re.search(
        r"run stopping \(stopped\) with 1 item\(s\) undelivered for console:replay:"
        r"every-preset: 1 due again from \S+Z \(in 3\d\d\d s\)",  # the notice, due in an hour
        err,
    ), "".join(seen) + err


@pytest.mark.slow
def test_two_instances_on_one_redis_deliver_each_message_once_and_both_claim_ticks(
    tmp_path: Path, redis_prefix: str
) -> None:
    url = redis_store_url(redis_prefix)

    async def seed() -> None:
        store = await open_store(url)
        await seed_replay_store(store, PRESETS)
        await store.close()

    asyncio.run(seed())
    start = tmp_path / "start"  # one clock for both, started once both are ready
    args = ("run", "--replay", "2025-01-27", "--speed", SPEED, "--store", url)
    processes = [
        _run(
            *args,
            "--ready-file",
            str(tmp_path / f"ready{n}"),
            "--start-file",
            str(start),
            cwd=tmp_path,
        )
        for n in range(2)
    ]
    seen: list[list[str]] = [[], []]
    for n, process in enumerate(processes):
        _wait_for(seen[n], process, "run ready mode=replay")
        ready = json.loads((tmp_path / f"ready{n}").read_text())
        assert ready["pid"] == process.pid and ready["mode"] == "replay"
    write_atomically(start, f"{time.time():.3f}")
    results = [
        (out, "".join(lines) + err)
        for lines, (out, err) in zip(
            seen, (p.communicate(timeout=PATIENCE) for p in processes), strict=True
        )
    ]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err[-2000:]
    keys = Counter(m[2] for _, err in results for m in DELIVERED.findall(err))
    fired = [line for _, err in results for line in err.splitlines() if "fired=" in line]
    assert len(keys) == 5 and set(keys.values()) == {1}, (keys, fired)
    claimed = [int(re.search(r"(\d+) scheduled run", out).group(1)) for out, _ in results]  # type: ignore[union-attr]
    assert all(count > 0 for count in claimed), claimed


@pytest.mark.slow
def test_a_replay_on_a_store_without_deliver_queues_nothing_for_discord_or_slack_channels(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    discord = Channel(ChannelRef("discord", "guild1", "prod"), "en", "Asia/Seoul")

    async def seed() -> None:
        store = await open_store(url)
        await seed_replay_store(store, PRESETS)
        await store.upsert_channel(discord)
        for preset in PRESETS:
            await store.add_subscription(Subscription(discord.ref, preset))
        digest = Subscription(
            discord.ref, "digest", kind="digest", digest_time="06:30", digest_zone="Asia/Seoul"
        )
        await store.add_subscription(digest)
        await store.close()

    async def outbox() -> list[OutboxItem]:
        store = await open_store(url)
        try:
            return await store.list_outbox()
        finally:
            await store.close()

    asyncio.run(seed())
    process = _run("run", "--replay", "2025-01-27", "--speed", SPEED, "--store", url, cwd=tmp_path)
    out, err = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0, err[-3000:]
    # SMH's pre-market chip crash and its escalation, the open and close alerts, the digest
    assert "delivered: console=5" in out
    assert [item.channel for item in asyncio.run(outbox())] == []
