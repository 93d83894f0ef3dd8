"""Apply each known mutant to a copy of the project, run the tests that must notice, report.

`make mutants` (or `python scripts/mutants.py [NAME ...]`). Each mutant is a small,
deliberate bug in the code that decides whether an alert fires or a message is lost or
doubled; the tests named beside it must fail with it in place. The project is copied (the
files git tracks) into a temporary directory beside a link to ../shared, the mutant is
applied there, and pytest runs there with this project's virtualenv, so the working tree
is never touched. Prints one line per mutant and a table; exits 1 if any survived, 2 if a
mutant no longer applies (the code moved: update it here) or the tests fail unmutated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600.0


@dataclass(frozen=True)
class Mutant:
    """`old` replaced by `new` (exactly once) in `path`; `tests` must then fail."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


DISCORD_LIMITS = "tests/chat/test_discord_platform_limits.py"
DISCORD_SINK = "tests/chat/test_discord_sink.py"
SLACK_ERRORS = "tests/chat/slack/test_slack_platform_errors.py"
GUARDS = "tests/feeds/test_feed_guards.py"
RULES = "tests/test_rule_evaluation.py"
REGULAR_LIMIT = "        limit = self.stale_seconds\n"
EXTENDED_BRANCH = (
    '        if latest.market_session != "regular":\n'
    "            limit = self.stale_extended_seconds\n"
)

MUTANTS = (
    Mutant(
        "discord-pace-no-op",
        "bot/chat/discord/sink.py",
        "        await self.pacer.acquire(channel.ref.channel_id)\n",
        "        return None\n",
        (DISCORD_LIMITS,),
    ),
    Mutant(
        "discord-cut-connection-known",
        "bot/chat/discord/sink.py",
        'Failed(f"connection error: {type(exc).__name__}", unknown_outcome=True)',
        'Failed(f"connection error: {type(exc).__name__}")',
        (DISCORD_SINK,),
    ),
    Mutant(
        "slack-history-ignores-cursor",
        "bot/chat/slack/sink.py",
        "                    cursor=cursor,\n",
        "                    cursor=None,\n",
        (SLACK_ERRORS,),
    ),
    Mutant(
        "slack-token-revoked-not-gone",
        "bot/chat/slack/sink.py",
        '"account_inactive", "token_revoked"}',
        '"account_inactive"}',
        (SLACK_ERRORS,),
    ),
    Mutant(
        "slack-5xx-known-outcome",
        "bot/chat/slack/sink.py",
        'Failed(f"slack: HTTP {status}", unknown_outcome=True)',
        'Failed(f"slack: HTTP {status}")',
        (SLACK_ERRORS,),
    ),
    Mutant(
        "slack-sdk-resends-writes",
        "bot/chat/slack/config.py",
        '        return not request.url.rstrip("/").endswith(WRITE_METHODS)\n',
        "        return retry\n",
        (SLACK_ERRORS,),
    ),
    Mutant(
        "discord-reconciles-every-ready",
        "bot/chat/discord/lifecycle.py",
        "        if self.reconciled:\n            return\n",
        "",
        ("tests/chat/test_discord_lifecycle_outage.py",),
    ),
    Mutant(
        "staleness-limits-swapped",
        "bot/feeds/guards.py",
        REGULAR_LIMIT + EXTENDED_BRANCH,
        EXTENDED_BRANCH.replace("stale_extended_seconds", "stale_seconds").replace(
            "        if", "        limit = self.stale_extended_seconds\n        if", 1
        ),
        (GUARDS,),
    ),
    Mutant(
        "staleness-regular-limit-for-both",
        "bot/feeds/guards.py",
        REGULAR_LIMIT + EXTENDED_BRANCH,
        REGULAR_LIMIT,
        (GUARDS,),
    ),
    Mutant(
        "staleness-extended-limit-for-both",
        "bot/feeds/guards.py",
        REGULAR_LIMIT + EXTENDED_BRANCH,
        "        limit = self.stale_extended_seconds\n",
        (GUARDS,),
    ),
    Mutant(
        "split-guard-misses-reverse-splits",
        "bot/feeds/guards.py",
        "    big = max(ratio, 1.0 / ratio)\n",
        "    big = 1.0 / ratio\n",
        (GUARDS,),
    ),
    Mutant(
        "yahoo-backoff-not-exponential",
        "bot/feeds/guards.py",
        "delay = min(self.maximum, self.initial * 2 ** (self.failures - 1))",
        "delay = min(self.maximum, self.initial)",
        ("tests/feeds/test_yahoo_exchanges.py",),
    ),
    Mutant(
        "doctor-aof-check-inverted",
        "bot/cli/doctor.py",
        'if str(info.get("appendonly", "no")) != "yes":',
        'if str(info.get("appendonly", "no")) == "yes":',
        ("tests/test_operations.py::test_doctor_warns_when_redis_has_no_aof",),
    ),
    Mutant(
        "deepseek-dow-at-least-flat",
        "bot/defaults.toml",
        'expr = "SOX.pct <= -5 and DJI.pct > 0"',
        'expr = "SOX.pct <= -5 and DJI.pct >= 0"',
        (RULES,),
    ),
    Mutant(
        "deepseek-dow-above-minus-50",
        "bot/defaults.toml",
        'expr = "SOX.pct <= -5 and DJI.pct > 0"',
        'expr = "SOX.pct <= -5 and DJI.pct > -50"',
        (RULES,),
    ),
)


def copy_project(into: Path) -> Path:
    """The files git tracks, copied to `into`/repo, with `into`/shared linked to ../shared."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    repo = into / "repo"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shared = (ROOT.parent / "shared").resolve()
    if shared.exists():
        (into / "shared").symlink_to(shared)
    return repo


def run_tests(repo: Path, tests: tuple[str, ...]) -> tuple[int, float]:
    """pytest's exit code (-1: timed out) and the seconds it took."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=repo, env=env, capture_output=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return -1, time.monotonic() - started
    return done.returncode, time.monotonic() - started


def apply(repo: Path, mutant: Mutant) -> str:
    """Write the mutant into the copy; the original text, to restore."""
    path = repo / mutant.path
    original = path.read_text()
    if original.count(mutant.old) != 1:
        raise LookupError(f"{mutant.name}: the code to mutate is not in {mutant.path} once")
    path.write_text(original.replace(mutant.old, mutant.new))
    return original


def main(argv: list[str] | None = None) -> int:
    """Run the mutants named (all by default); 0 when every one was killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    args = parser.parse_args(argv)
    # Stopped by SIGTERM, still remove the copy (and stop the pytest it runs: see run_tests).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    if not chosen:
        print(f"no such mutant; known: {', '.join(m.name for m in MUTANTS)}")
        return 2
    with tempfile.TemporaryDirectory(prefix="sputnik-mutants-") as tmp:
        repo = copy_project(Path(tmp))
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        code, seconds = run_tests(repo, tests)
        print(f"unmutated: {len(tests)} test target(s) exit {code} in {seconds:.0f}s", flush=True)
        if code != 0:
            print("the tests fail without any mutant: fix them first")
            return 2
        rows = []
        for mutant in chosen:
            try:
                original = apply(repo, mutant)
            except LookupError as exc:
                print(exc)
                return 2
            try:
                code, seconds = run_tests(repo, mutant.tests)
            finally:
                (repo / mutant.path).write_text(original)
            verdict = "survived" if code == 0 else "killed"
            detail = "timed out" if code == -1 else f"pytest exit {code}"
            rows.append((mutant.name, verdict, detail, seconds))
            print(f"{verdict:<8} {mutant.name} ({detail}, {seconds:.0f}s)", flush=True)
    width = max(len(name) for name, *_ in rows)
    print(f"\n{'mutant':<{width}}  verdict   how")
    for name, verdict, detail, _ in rows:
        print(f"{name:<{width}}  {verdict:<8}  {detail}")
    survived = sum(1 for _, verdict, *_ in rows if verdict == "survived")
    print(f"\n{len(rows) - survived} killed, {survived} survived")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
