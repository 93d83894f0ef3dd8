"""`bootstrap` builds what an entry point uses, takes the parts it is handed, and finds the
chat platforms by registration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bot.app import bootstrap
from bot.chat.console.sink import ConsoleSink
from bot.domain.cards import Card
from bot.domain.history import HistoryError
from bot.domain.model import Channel, ChannelRef
from bot.feeds.replay_feed import ReplayFeed
from bot.feeds.yahoo_poll import YahooPollFeed
from bot.feeds.yahoo_stream import YahooStreamFeed
from bot.ports import Delivered, DeliveryOutcome, Failed, Gone, RetryAfter
from bot.prometheus import Metrics
from bot.settings import Settings, load_settings
from jobs.pipeline import CountingSink, RunReport, outcome_label

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DISCORD_TOKEN = "MTAxNTk5NjQ3ODU5MTAwNDc2.GhJk1a.s3cr3t-discord-token"


@pytest.fixture
def settings() -> Settings:
    return load_settings(env={"SPUTNIK_CONFIG": os.devnull})


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


def imported_after(code: str, tmp_path: Path, stdin: str = "") -> set[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    script = (
        f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))},
        "SPUTNIK_CONFIG": os.devnull,
        "SPUTNIK_STORE_URL": url(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.splitlines()[-1].split())


def test_the_console_imports_no_chat_platform(tmp_path: Path) -> None:
    code = "from bot.cli import main\nassert main(['console']) == 0"
    modules = imported_after(code, tmp_path, stdin="/help\n")
    assert "handlers" in modules  # it did run the commands
    assert not modules & {"discord", "slack_bolt", "slack_sdk"}


def test_a_bot_without_tokens_builds_no_platform_and_imports_none(tmp_path: Path) -> None:
    code = (
        "import asyncio\nfrom bot.app import bootstrap\nfrom bot.settings import load_settings\n"
        "async def main():\n"
        "    app = await bootstrap(load_settings(), env={})\n"
        "    assert app.runtimes == [] and set(app.sinks) == {'console'}\n"
        "    await app.close()\n"
        "asyncio.run(main())"
    )
    assert not imported_after(code, tmp_path) & {"discord", "slack_bolt", "slack_sdk"}


async def test_platforms_are_built_by_registration_when_their_tokens_are_set(
    settings: Settings, tmp_path: Path
) -> None:
    from bot.chat.discord.app import DiscordRuntime

    env = {"DISCORD_TOKEN": DISCORD_TOKEN}
    app = await bootstrap(settings, store_url=url(tmp_path), env=env)
    try:
        [runtime] = app.runtimes
        assert isinstance(runtime, DiscordRuntime) and set(app.sinks) == {"console", "discord"}
    finally:
        await app.close()
    only_slack = await bootstrap(settings, store_url=url(tmp_path), env=env, platforms=["slack"])
    console_only = await bootstrap(settings, store_url=url(tmp_path), env=env, deliver=False)
    try:
        assert only_slack.runtimes == [] and console_only.runtimes == []
    finally:
        await only_slack.close()
        await console_only.close()


async def test_what_an_entry_point_never_reads_is_never_built(
    settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "history"
    broken.mkdir()
    (broken / "NVDA.csv").write_text("date,open\n2025-01-27,1\n", encoding="utf-8")
    app = await bootstrap(settings, store_url=url(tmp_path), data_dir=broken)
    try:
        assert await app.store.list_outbox() == []  # `outbox`: the store alone
        with pytest.raises(HistoryError, match="missing column"):
            app.core  # noqa: B018  # only now is the (broken) history read
    finally:
        await app.close()


async def test_a_part_handed_in_is_the_one_every_other_part_uses(
    settings: Settings, tmp_path: Path
) -> None:
    metrics, feed = Metrics(), YahooPollFeed()
    app = await bootstrap(
        settings, store_url=url(tmp_path), env={}, metrics=metrics, feed=feed, cache_dir=tmp_path
    )
    try:
        assert app.live.poll_feed is feed and app.daily_bars is feed
        assert app.claimer.metrics is metrics
        assert all(sink.metrics is metrics for sink in app.sinks.values())  # type: ignore[attr-defined]
    finally:
        await app.close()


async def test_a_replay_reads_the_shipped_history_with_no_stream_nor_backfill(
    settings: Settings, tmp_path: Path
) -> None:
    live = await bootstrap(settings, store_url=url(tmp_path), env={}, cache_dir=tmp_path)
    replay = await bootstrap(
        settings,
        store_url=url(tmp_path),
        env={},
        replay=pd.Timestamp("2025-01-27"),
        cache_dir=tmp_path,
    )
    try:
        assert isinstance(live.feed, YahooPollFeed) and live.daily_bars is live.feed
        assert isinstance(live.stream, YahooStreamFeed)
        assert isinstance(replay.feed, ReplayFeed) and replay.feed.clock is replay.clock
        assert replay.stream is None and replay.daily_bars is None
        assert replay.renderer.replay_of == pd.Timestamp("2025-01-27").date()
        job_ids = [job.id for job in replay.jobs]
        assert job_ids[:3] == ["nyse-open", "poll", "nyse-close"] and "digests" in job_ids
    finally:
        await live.close()
        await replay.close()


class Answers(ConsoleSink):
    """A sink that answers each send with the next outcome given."""

    def __init__(self, *outcomes: DeliveryOutcome) -> None:
        super().__init__(platform="test")
        self.outcomes = list(outcomes)

    async def send(self, channel: Channel, card: Card, idempotency_key: str) -> DeliveryOutcome:
        return self.outcomes.pop(0)


def test_each_delivery_outcome_has_its_own_label() -> None:
    outcomes = (Delivered(), RetryAfter(3.0), Gone("deleted"), Failed("timeout"))
    assert [outcome_label(o) for o in outcomes] == ["delivered", "retryafter", "gone", "failed"]


async def test_deliveries_are_counted_by_their_outcome_type() -> None:
    metrics, report = Metrics(), RunReport()
    sink = CountingSink(Answers(Delivered("1"), RetryAfter(2.0), Gone("kicked")), report, metrics)
    channel = Channel(ChannelRef("test", "w", "c"), "en", "UTC")
    for key in ("a", "b", "c"):
        await sink.send(channel, Card(title="x"), key)

    def count(outcome: str) -> float | None:
        labels = {"platform": "test", "outcome": outcome}
        return metrics.registry.get_sample_value("sputnik_deliveries_total", labels)

    assert [count(o) for o in ("delivered", "retryafter", "gone")] == [1, 1, 1]
    assert report.delivered == {"test": 1}
    limited = metrics.registry.get_sample_value("sputnik_rate_limits_total", {"service": "test"})
    assert limited == 1
