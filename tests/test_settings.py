"""Typed settings: every table refuses a typo with its path and a suggestion, wrong values
are named in one line, the environment overrides by name, the shipped files validate."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.settings import DEFAULTS_FILE, Settings, SettingsError, build_settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

TYPOS: dict[str, tuple[dict[str, Any], str]] = {
    "store": ({"store": {"uri": "sqlite:///x.db"}}, "[store] uri: unknown key — did you mean url?"),
    "data": (
        {"data": {"history_dirs": "h"}},
        "[data] history_dirs: unknown key — did you mean history_dir?",
    ),
    "aliases": (
        {"aliases": {"SOX": {"symbol": "^SOX", "proxi": "SOXX"}}},
        "[aliases] SOX.proxi: unknown key — did you mean proxy?",
    ),
    "presets": (
        {"presets": {"deepseek": {"magnitud": "-SOX.pct"}}},
        "[presets.deepseek] magnitud: unknown key — did you mean magnitude?",
    ),
    "shock": (
        {"shock": {"z_tier": {"notice": 2}}},
        "[shock] z_tier: unknown key — did you mean z_tiers?",
    ),
    "episodes": (
        {"episodes": {"max_distanse": 2.0}},
        "[episodes] max_distanse: unknown key — did you mean max_distance?",
    ),
    "figure_names": (
        {"figure_names": {"Nvidia": ""}},
        "[figure_names] Nvidia: must not be empty",
    ),
    "universe": (
        {"universe": {"symbol": ["NVDA"]}},
        "[universe] symbol: unknown key — did you mean symbols?",
    ),
    "replay": ({"replay": {"wach": ["SOX"]}}, "[replay] wach: unknown key — did you mean watch?"),
    "chain": (
        {"chain": {"exposd": ["NVDA"]}},
        "[chain] exposd: unknown key — did you mean exposed?",
    ),
    "discord": (
        {"discord": {"gatewy": False}},
        "[discord] gatewy: unknown key — did you mean gateway?",
    ),
    "slack": ({"slack": {"admin": ["U1"]}}, "[slack] admin: unknown key — did you mean admins?"),
    "feed": (
        {"feed": {"poll_secs": 30}},
        "[feed] poll_secs: unknown key — did you mean poll_seconds?",
    ),
    "scheduler": (
        {"scheduler": {"closing_check_delay_minute": 5}},
        "[scheduler] closing_check_delay_minute: unknown key — did you mean "
        "closing_check_delay_minutes?",
    ),
    "markets": (
        {"markets": {"us": {"calender": "XNYS"}}},
        "[markets.us] calender: unknown key — did you mean calendar?",
    ),
    "digest": (
        {"digest": {"default_tim": "07:00"}},
        "[digest] default_tim: unknown key — did you mean default_time?",
    ),
    "metrics": ({"metrics": {"prot": 9108}}, "[metrics] prot: unknown key — did you mean port?"),
    "logging": (
        {"logging": {"levl": "debug"}},
        "[logging] levl: unknown key — did you mean level?",
    ),
    "delivery": (
        {"delivery": {"timeout_secs": 20}},
        "[delivery] timeout_secs: unknown key — did you mean timeout_seconds?",
    ),
    "news": (
        {"news": {"budget_secs": 2}},
        "[news] budget_secs: unknown key — did you mean budget_seconds?",
    ),
    "news_names": (
        {"news_names": {"NVDA": "Nvidia"}},
        '[news_names] NVDA: "Nvidia" is not a list like ["a", "b"]',
    ),
    "summary": (
        {"summary": {"base_uri": "http://127.0.0.1:11434/v1"}},
        "[summary] base_uri: unknown key — did you mean base_url?",
    ),
}


def refusal(tables: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as refused:
        build_settings(tables, env)
    return str(refused.value)


@pytest.mark.parametrize("table", sorted(TYPOS))
def test_a_typo_in_each_table_is_refused_with_its_path_and_a_suggestion(table: str) -> None:
    tables, message = TYPOS[table]
    assert refusal(tables) == message


def test_every_table_of_the_settings_has_a_typo_test() -> None:
    assert set(TYPOS) == set(Settings.model_fields)


def test_an_unknown_table_is_refused_too() -> None:
    assert refusal({"feeds": {"poll_seconds": 30}}) == "[feeds]: unknown table — did you mean feed?"


def test_a_key_nothing_resembles_lists_the_keys_the_table_knows() -> None:
    message = refusal({"presets": {"deepseek": {"tiers": {"loud": 5}}}})
    assert (
        message == "[presets.deepseek] tiers.loud: unknown key (known: notice, warning, critical)"
    )


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {"shock": {"z_tiers": {"notice": "two"}}},
            '[shock] z_tiers.notice: "two" is not a number',
        ),
        (
            {"shock": {"move_tiers": {"warning": "5"}}},
            '[shock] move_tiers.warning: "5" is text, not a number: write it without quotes',
        ),
        ({"feed": {"stream": "yes"}}, '[feed] stream: "yes" is not true or false'),
        ({"feed": {"poll_seconds": 0}}, "[feed] poll_seconds: must be greater than 0, not 0"),
        ({"metrics": {"port": 9108.5}}, "[metrics] port: 9108.5 is not a whole number"),
        (
            {"slack": {"mode": "sockets"}},
            '[slack] mode: "sockets" is not one of socket, http — did you mean socket?',
        ),
        (
            {"universe": {"symbols": ["NVDA", 7]}},
            "[universe] symbols[1]: 7 is not text: put it in quotes",
        ),
        ({"replay": {"watch": "SOX"}}, '[replay] watch: "SOX" is not a list like ["a", "b"]'),
        ({"discord": {"shards": "many"}}, '[discord] shards: "many" is not one of auto'),
        (
            {"digest": {"default_zone": "Asia/Seol"}},
            '[digest] default_zone: "Asia/Seol" is not a time zone — did you mean Asia/Seoul?',
        ),
        (
            {"markets": {"us": {"pre_market": ["4:00", "09:30"]}}},
            '[markets.us] pre_market[0]: "4:00" is not a time like 06:30 (HH:MM, 24-hour)',
        ),
        (
            {"markets": {"us": {"post_market": ["20:00", "16:00"]}}},
            "[markets.us]: post_market must end after it starts (got 20:00-16:00)",
        ),
        (
            {"scheduler": {"premarket_start": "04:00"}},
            "[scheduler] premarket_start: the extended-hours windows are each market's own",
        ),
        (
            {"scheduler": {"krx_checks": False}},
            "[scheduler] krx_checks: each market's checks are switched in its own table",
        ),
        (
            {"feed": {"vendor": "bloomberg"}},
            '[feed] vendor: "bloomberg" is not a market-data vendor (known: yahoo)',
        ),
        (
            {"presets": {"deepseek": {"tiers": {"warning": 9, "critical": 3}}}},
            "[presets.deepseek] tiers: thresholds must rise with severity "
            "(notice ≤ warning ≤ critical)",
        ),
        (
            {"presets": {"deepseek": {"sessions": ["pre", "after"]}}},
            '[presets.deepseek] sessions[1]: "after" is not one of pre, regular, post',
        ),
        (
            {"presets": {"mine": {"expr": "MU.pct < -8", "description_en": "Micron falls"}}},
            "[presets.mine] description_ko: missing (required)",
        ),
        ({"aliases": {"MEMORY": {"proxy": "MU"}}}, "[aliases] MEMORY.symbol: missing (required)"),
        ({"logging": {"format": "xml"}}, '[logging] format: "xml" is not one of keyvalue, json'),
        ({"store": {"url": ""}}, "[store] url: must not be empty"),
        (
            {"store": {"url": "postgres://u:secret@db/x"}},
            '[store] url: "postgres:" is not a store: use sqlite:///file.db,'
            " redis://host:port/db or memory:// (keeps nothing)",
        ),
        ({"replay": "SOX"}, '[replay]: "SOX" is not a table'),
        (
            {"news": {"feeds": ["https://ok.example/rss", {"url": "ftp://x", "publisher": "X"}]}},
            '[news] feeds[1].url: "ftp://x" is not an http(s) URL',
        ),
        (
            {"news": {"feeds": [{"url": "https://x.example/rss", "name": "X"}]}},
            "[news] feeds[0].name: unknown key (known: url, publisher)",
        ),
        ({"news": {"budget_seconds": 0}}, "[news] budget_seconds: must be greater than 0, not 0"),
        (
            {"news": {"max_items": 5}},
            "[news] max_items: must be less than or equal to 3, not 5",
        ),
        (
            {"summary": {"languages": ["ko", "jp"]}},
            '[summary] languages[1]: "jp" is not one of ko, en',
        ),
    ],
)
def test_a_wrong_value_is_named_with_its_path_in_one_line(
    tables: dict[str, Any], message: str
) -> None:
    assert refusal(tables) == message


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ({"discord": {"token": "x"}}, "DISCORD_TOKEN"),
        ({"slack": {"bot_token": "x"}}, "SLACK_BOT_TOKEN"),
        ({"slack": {"app_token": "x"}}, "SLACK_APP_TOKEN"),
        ({"slack": {"signing_secret": "x"}}, "SLACK_SIGNING_SECRET"),
        ({"slack": {"client_secret": "x"}}, "SLACK_CLIENT_SECRET"),
    ],
)
def test_a_token_in_the_config_is_refused_naming_its_environment_variable(
    key: dict[str, Any], variable: str
) -> None:
    [(table, keys)] = key.items()
    expected = (
        f"[{table}] {next(iter(keys))}: tokens are read from the environment only ({variable})"
    )
    assert refusal(key) == expected


def test_the_synthesis_key_in_the_config_is_refused_naming_its_environment_variable() -> None:
    assert refusal({"summary": {"api_key": "sk-secret-value"}}) == (
        "[summary] api_key: tokens are read from the environment only (SPUTNIK_SUMMARY_API_KEY)"
    )


def test_more_than_one_problem_names_the_first_and_counts_the_rest() -> None:
    message = refusal({"feed": {"poll_secs": 30, "stream": "yes"}})
    assert message == '[feed] stream: "yes" is not true or false (and 1 more)'


def test_the_environment_overrides_the_store_the_slack_mode_and_the_port() -> None:
    env = {"SPUTNIK_STORE_URL": "redis://127.0.0.1:6379/5", "SLACK_MODE": "http", "PORT": "8080"}
    settings = build_settings({"slack": {"mode": "socket", "port": 3000}}, env)
    assert settings.store_url == "redis://127.0.0.1:6379/5"
    assert (settings.slack.mode, settings.slack.port) == ("http", 8080)


def test_the_container_sets_the_metrics_port_from_the_environment() -> None:
    settings = build_settings({"metrics": {"port": 0}}, {"SPUTNIK_METRICS_PORT": "9108"})
    assert settings.metrics.port == 9108
    message = refusal({}, {"SPUTNIK_METRICS_PORT": "x"})
    assert message == 'SPUTNIK_METRICS_PORT: "x" is not a whole number'


def test_a_wrong_environment_value_is_named_by_its_variable() -> None:
    assert refusal({}, {"PORT": "eighty"}) == 'PORT: "eighty" is not a whole number'
    assert (
        refusal({}, {"SLACK_MODE": "pigeon"}) == 'SLACK_MODE: "pigeon" is not one of socket, http'
    )


def test_the_model_defaults_are_the_shipped_defaults() -> None:
    shipped = Settings.model_validate(tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8")))
    built_in = Settings()
    # defined in defaults.toml only
    data_tables = {"aliases", "presets", "universe", "replay", "figure_names", "news_names"}
    data_tables |= {"markets", "chain"}
    for table in set(Settings.model_fields) - data_tables:
        assert getattr(shipped, table) == getattr(built_in, table), table


def test_the_example_config_validates_and_its_preset_parses() -> None:
    from bot.app import build_core

    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.aliases["MEMORY"].symbol == "MU"
    assert "memory_crash" in build_core(settings).presets


def test_a_config_file_with_a_typo_is_refused_when_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[feed]\npoll_secs = 30\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^\[feed\] poll_secs: unknown key"):
        load_settings(path, env={})


def test_the_store_data_and_views_attributes_still_read_the_tables(tmp_path: Path) -> None:
    settings = build_settings(
        {"data": {"history_dir": str(tmp_path)}, "store": {"url": "memory://"}}
    )
    assert settings.history_dir == tmp_path and settings.store_url == "memory://"
    assert settings.views_dir == ROOT / "data" / "views"


def test_no_module_reads_an_untyped_settings_dict() -> None:
    for package in ("bot", "handlers", "jobs"):
        for path in (ROOT / package).rglob("*.py"):
            assert "settings.raw" not in path.read_text(encoding="utf-8"), path
    assert not hasattr(Settings, "raw")


def test_a_command_with_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[shock]\nz_tiers = { notice = "two" }\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "replay", "2025-01-27"],
        cwd=tmp_path,
        env={**os.environ, "SPUTNIK_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == 'error: [shock] z_tiers.notice: "two" is not a number\n'


def test_doctor_gives_the_config_one_verdict_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPUTNIK_CONFIG", os.devnull)
    monkeypatch.setenv("SPUTNIK_STORE_URL", f"sqlite:///{tmp_path / 'doctor.db'}")
    assert main(["doctor", "--no-network"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if "config:" in line]
    assert line == (
        f"ok    config: defaults + {os.devnull} + SPUTNIK_STORE_URL valid: 15 presets, 21 aliases"
    )


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        (  # a key an older version accepted: explained, with what to do
            '[discord]\ntoken = "abc"\n',
            "[discord] token: tokens are read from the environment only (DISCORD_TOKEN) — "
            "older versions read the bot token from [discord] token; set DISCORD_TOKEN in the "
            "environment and delete the key",
        ),
        ("[feed]\npoll_secs = 30\n", "[feed] poll_secs: unknown key — did you mean poll_seconds?"),
    ],
)
def test_doctor_names_a_bad_config_in_one_fail_line_and_stops_there(
    content: str,
    verdict: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(content, encoding="utf-8")
    monkeypatch.setenv("SPUTNIK_CONFIG", str(config))
    assert main(["doctor", "--no-network"]) == 1
    assert capsys.readouterr().out == f"fail  config: {verdict}\n"
