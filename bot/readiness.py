"""Saying a run is up, and starting several replays on one clock (`--ready-file`, `--start-file`).

Once its store, feeds and chat platforms are up, `run` logs one `run ready` line and, with
`--ready-file PATH`, writes PATH (JSON: pid, mode, when) — a readiness probe for operators
and tests, instead of guessing how long start-up takes. A replay given `--start-file PATH`
then waits for PATH to hold a real epoch and starts its virtual clock there: replays given
the same file share one clock, started when all of them are ready.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Collection
from pathlib import Path

from jobs.enqueue import pause

log = logging.getLogger(__name__)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def read_start(path: Path) -> float | None:
    """The epoch in a start file, or None while it is missing or not (yet) a number."""
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return None


async def announce_ready(
    mode: str,
    platforms: Collection[str],
    ready_file: Path | None,
    start_file: Path | None,
    stop: asyncio.Event,
    poll_seconds: float = 0.05,
) -> float | None:
    """Log `run ready`, write `ready_file`, then (with `start_file`) wait for the epoch the
    clock starts at and return it (None without a start file, or when stopped first)."""
    if ready_file is not None:  # first the file, then the line: whoever reads either finds both
        details = {"pid": os.getpid(), "mode": mode, "platforms": sorted(platforms)}
        write_atomically(ready_file, json.dumps({**details, "ready_at": time.time()}) + "\n")
    names = ",".join(sorted(platforms))
    log.info("run ready mode=%s pid=%d platforms=%s", mode, os.getpid(), names)
    if start_file is None:
        return None
    said = False
    while not stop.is_set():
        start = read_start(start_file)
        if start is not None:
            log.info("run starts its clock at %.3f (from %s)", start, start_file)
            return start
        if not said:
            said = True
            log.info("run waits for a start time in %s", start_file)
        await pause(asyncio.sleep, poll_seconds, stop)
    return None
