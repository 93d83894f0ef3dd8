"""`python -m bot replay` and `backtest` end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, PYTHON

HISTORY = PROJECT_ROOT / "data" / "history"


def run_bot(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPUTNIK_CONFIG": os.devnull}
    return subprocess.run(
        [PYTHON, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_make_demo_replays_the_deepseek_day_with_the_real_figures() -> None:
    make = shutil.which("make")
    assert make, "make is needed for the README's first command"
    env = {**os.environ, "SPUTNIK_CONFIG": os.devnull}
    done = subprocess.run(
        [make, "-s", "demo"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "FIRED deepseek [critical]" in out
    assert "SOX.pct −9.15 % · DJI.pct +0.65 %" in out
    for figure in ("−16.97 %", "−17.40 %", "−1.46 %", "−3.07 %", "−13.33 %"):
        assert figure in out
    assert "Next session Tue 2025-01-28: SOX +1.11 %, NVDA +8.93 %" in out
    # The prints come in order and the open is evaluated before the close.
    assert out.index("[1/3] previous close") < out.index("[2/3] open") < out.index("[3/3] close")
    # It ends with what a channel subscribed to every preset and the digest received over
    # the trading day, round the clock: the chain from Tokyo's close to the 06:30 digest.
    delivered = out[out.index("Delivered to a channel subscribed to every preset") :]
    assert "7 messages" in delivered.splitlines()[0]
    messages = delivered.split("── message ")[1:]
    tokyo, amsterdam, pre_1, pre_2, opening, closing, digest = messages
    assert "Early warning · Tokyo decoupling" in tokyo and "ADVANTEST −8.61 %" in tokyo
    assert "Print: Mon 27 Jan 2025 01:30 EST · TSE close 15:30 JST" in tokyo
    assert "NYSE opens in 8 h 00 m; `deepseek` watches SOX, DJI at the open" in tokyo
    assert "Early warning · 2 alerts at the Euronext open" in amsterdam
    assert "Print: Mon 27 Jan 2025 03:00 EST · Euronext open 09:00 CET" in amsterdam
    assert "ASML_AS −7.66 % · SX5E −0.12 %" in amsterdam
    assert "Figures: SOX (proxy SMH) −5.87 %" in pre_1 and "NYSE opens in 4 h 50 m" in pre_1
    assert "Figures: SOX (proxy SMH) −7.08 %" in pre_2  # escalated to a warning
    assert "Figures: NVDA −12.49 % · SPX −2.17 %" in opening
    first = "First warning: 01:30 ET / 15:30 JST from TSE close: ADVANTEST −8.61 %"
    assert all(first in message for message in (amsterdam, pre_1, pre_2, opening, closing))
    assert "3 alerts at the close" in closing
    order = ["DeepSeek-style shock", "NVIDIA decouples", "AI-power unwind"]
    positions = [closing.index(f"] {title}") for title in order]
    assert positions == sorted(positions)
    assert "Figures: SOX −9.15 % · DJI +0.65 %" in closing
    assert "Replay of Mon 27 Jan 2025 (not live)" in closing
    assert "US market digest — Mon 27 Jan 2025" in digest
    chain = digest[digest.index("The early-warning chain") :].splitlines()[1:6]
    assert [line.strip() for line in chain] == [
        "01:30 ET / 15:30 JST · TSE close · tokyo_deepseek [warning] ADVANTEST −8.61 %",
        "… and 3 more",
        "05:10 ET · NYSE pre-market · chip_crash [warning] SOX (SMH) −7.08 %",
        "09:30 ET · NYSE open · nvda_decoupling [warning] NVDA −12.49 %",
        "16:00 ET · NYSE close · ai_power_unwind [critical] VST −28.27 %; "
        "deepseek [critical] SOX −9.15 %; nvda_decoupling [critical] NVDA −16.97 %",
    ]
    # The trading day round the clock: its timeline and its first warning, before the bell.
    day = out[out.index("Round the clock") : out.index("Delivered to a channel")]
    assert "KRX (XKRX): closed on Mon 2025-01-27" in day
    assert "04:40 EST · 04:40 EST · NYSE pre-market  FIRED chip_crash [notice]" in day
    assert "01:30 EST · 15:30 JST · TSE close        FIRED tokyo_deepseek [warning]" in day
    assert "First warning: 01:30 EST (15:30 JST) from TSE close" in day
    assert "ADVANTEST −8.61 %" in day and "8 h 00 m before the open" in day


def test_replay_works_for_any_session_in_the_history() -> None:
    done = run_bot("replay", "2020-03-16")
    assert done.returncode == 0, done.stderr
    assert "FIRED chip_crash" in done.stdout


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2025-01-25", "is a weekend; nearest sessions: 2025-01-24, 2025-01-27"),
        ("2025-01-09", "NYSE holiday; nearest sessions: 2025-01-08, 2025-01-10"),
        ("2031-05-05", "is outside the history"),
        ("1990-01-02", "nearest session: 1994-05-05"),
        ("2025-02-30", "not a valid calendar date"),
        ("27/01/2025", "use YYYY-MM-DD"),
    ],
)
def test_replay_of_a_bad_date_explains_and_exits_2(date: str, message: str) -> None:
    done = run_bot("replay", date)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_backtest_of_the_deepseek_preset_lists_the_day_and_a_summary() -> None:
    done = run_bot("backtest", "deepseek")
    assert done.returncode == 0, done.stderr
    assert "2025-01-27       −9.15 %       +0.65 %" in done.stdout
    assert "Fired on" in done.stdout and "median" in done.stdout


def test_backtest_json_is_only_a_json_array_with_nulls_never_nan() -> None:
    done = run_bot(
        "backtest",
        "SOX.pct <= -5 and DJI.pct > 0",
        "--from",
        "2025-01-27",
        "--to",
        "2025-01-27",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert "NaN" not in done.stdout
    firings = json.loads(done.stdout)
    assert [f["date"] for f in firings] == ["2025-01-27"]
    first = firings[0]
    assert round(first["moves"]["SOX"], 2) == -9.15 and round(first["moves"]["DJI"], 2) == 0.65
    assert round(first["forward"]["SOX"]["1"], 2) == 1.11
    assert set(first["forward"]["DJI"]) == {"1", "5", "20"}


def test_backtest_json_prints_an_empty_array_when_nothing_fired() -> None:
    done = run_bot("backtest", "chip_crash", "--from", "2025-01-28", "--to", "2025-01-31", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_backtest_nulls_forward_returns_past_the_end_of_the_history() -> None:
    done = run_bot("backtest", "SOX.pct > -100", "--from", "2026-08-20", "--json")
    firings = json.loads(done.stdout)
    assert firings[-1]["forward"]["SOX"]["1"] is None


def write(path: Path, text: str) -> None:
    path.write_text(text)


def test_backtest_reads_a_users_directory_with_alias_and_proxy_files(tmp_path: Path) -> None:
    for name in ("^SOX.csv", "DIA.csv"):
        lines = (HISTORY / name).read_text().splitlines()
        keep = [lines[0]] + [line for line in lines[1:] if line.startswith("2025-01")]
        target = "SOX.csv" if name == "^SOX.csv" else name
        write(tmp_path / target, "\n".join(keep) + "\n")
    done = run_bot("backtest", "deepseek", "--data", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    firings = json.loads(done.stdout)
    assert [f["date"] for f in firings] == ["2025-01-27"]
    assert firings[0]["proxies"] == {"DJI": "DIA"}


def test_backtest_accepts_files_without_adj_close(tmp_path: Path) -> None:
    write(
        tmp_path / "NVDA.csv",
        "date,open,high,low,close,volume\n2025-01-24,,,,142.62,\n2025-01-27,,,,118.42,\n",
    )
    done = run_bot("backtest", "NVDA.pct <= -10", "--data", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["date"] == "2025-01-27"


def test_backtest_with_a_broken_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path / "NVDA.csv",
        "date,open,high,low,close,adj_close,volume\n2025-01-24,1,2,1,1.5,1.5,1\n2025-01-27,1,1,2,1.5,1.5,1\n",
    )
    done = run_bot("backtest", "NVDA.pct < 0", "--data", str(tmp_path))
    assert done.returncode == 2
    assert "NVDA.csv line 3" in done.stderr and "Traceback" not in done.stderr


def test_backtest_of_a_rule_whose_symbols_have_no_file_exits_2_naming_them(tmp_path: Path) -> None:
    write(
        tmp_path / "NVDA.csv", "date,open,high,low,close,adj_close,volume\n2025-01-24,,,,142.62,,\n"
    )
    done = run_bot("backtest", "deepseek", "--data", str(tmp_path))
    assert done.returncode == 2
    assert "no data for SOX, DJI" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("backtest", "SOXY.pct < 1"), "unknown symbol 'SOXY' at column 1 — did you mean SOX"),
        (("backtest", "deepseek", "--from", "2025-02-30"), "--from: '2025-02-30' is not a valid"),
        (("backtest", "deepseek", "--from", "2025-02-01", "--to", "2025-01-01"), "is after --to"),
        (("backtest", "deepseek", "--data", "/nonexistent/dir"), "not a directory"),
    ],
)
def test_backtest_bad_input_exits_2_with_a_message(args: tuple[str, ...], message: str) -> None:
    done = run_bot(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_example_config_loads_and_its_preset_backtests() -> None:
    env = {**os.environ, "SPUTNIK_CONFIG": str(PROJECT_ROOT / "config.example.toml")}
    done = subprocess.run(
        [PYTHON, "-m", "bot", "backtest", "memory_crash", "--from", "2026-01-01", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    firings = json.loads(done.stdout)
    assert firings and set(firings[0]["moves"]) == {"MU", "SPX"}


def test_a_config_named_by_sputnik_config_must_exist() -> None:
    env = {**os.environ, "SPUTNIK_CONFIG": "/nonexistent/sputnik.toml"}
    done = subprocess.run(
        [PYTHON, "-m", "bot", "replay", "2025-01-27"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "config file not found: /nonexistent/sputnik.toml" in done.stderr


def test_backtest_over_a_range_with_no_session_exits_2() -> None:
    done = run_bot("backtest", "deepseek", "--from", "2025-01-20", "--to", "2025-01-20")
    assert done.returncode == 2
    assert "no session with data" in done.stderr
