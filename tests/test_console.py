"""`python -m bot console` in a subprocess, fed from standard input."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import PROJECT_ROOT, PYTHON


def console(
    lines: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    environment.pop("SPUTNIK_STORE_URL", None)
    environment.update({"SPUTNIK_CONFIG": os.devnull, **(env or {})})
    return subprocess.run(
        [PYTHON, "-m", "bot", "console", *args],
        input=lines,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_console_reads_help_from_stdin(tmp_path: Path) -> None:
    done = console("/help\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "/shock SYMBOL [DATE]" in done.stdout


def test_console_prints_the_shock_card_and_the_chart_path(tmp_path: Path) -> None:
    done = console("/shock NVDA 2025-01-27\n", "--lang", "ko", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "NVDA 충격 분석 · 2025년 1월 27일 (월)" in done.stdout
    assert "등락률: −16.97 %" in done.stdout
    chart = tmp_path / "out" / "charts" / "shock-NVDA-2025-01-27-ko.png"
    assert f"차트 파일: out/charts/{chart.name}" in done.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")
    # The console is one channel in the configured store (SQLite in the working directory).
    assert (tmp_path / "sputnik.db").exists()


def test_console_language_persists_in_the_store_between_runs(tmp_path: Path) -> None:
    console("/lang ko\n", cwd=tmp_path)
    done = console("/help\n", cwd=tmp_path)
    assert "스푸트니크 명령어" in done.stdout


def test_console_rejects_an_unknown_language_flag(tmp_path: Path) -> None:
    done = console("", "--lang", "fr", cwd=tmp_path)
    assert done.returncode == 2 and "use ko or en" in done.stderr


def test_console_with_an_unreachable_store_exits_2_naming_the_url_without_password(
    tmp_path: Path,
) -> None:
    done = console(
        "/help\n", cwd=tmp_path, env={"SPUTNIK_STORE_URL": "redis://:hunter2@127.0.0.1:1/0"}
    )
    assert done.returncode == 2
    assert "127.0.0.1:1" in done.stderr and "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr
