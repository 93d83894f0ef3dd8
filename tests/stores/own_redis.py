"""A redis-server started by a test on a free port of its own, stopped by its pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis


@dataclass
class OwnRedis:
    """A redis-server of a test's own: by default with AOF fsynced on every write."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    appendonly: bool = True

    @property
    def url(self) -> str:
        """Its URL, with a prefix."""
        return f"redis://127.0.0.1:{self.port}/0?prefix=restart:"

    def start(self) -> None:
        """Start (or restart: the AOF is replayed) and wait until it answers."""
        self.process = subprocess.Popen(
            [
                str(shutil.which("redis-server")),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "always",
                "--save", "",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                subprocess.run(["sleep", "0.05"], check=True)
        raise RuntimeError("own redis-server did not start")

    def kill(self) -> None:
        """kill -9, by pid."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None


@pytest.fixture
def scratch_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis of the test's own without AOF, on a free port (a test may stop it)."""
    from tests.stores.test_store_processes import free_port

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH (run the tests through `make test`)")
    server = OwnRedis(tmp_path, free_port(), appendonly=False)
    server.start()
    yield server
    server.kill()
