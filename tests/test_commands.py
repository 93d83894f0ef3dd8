"""Every slash command end to end through the harness: real core, SQLite store, ko and en."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.text import render_text
from bot.domain.cards import Card, Severity
from bot.domain.model import ChannelRef, Subscription
from bot.harness import Harness
from bot.services import Core

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def harness(core: Core, tmp_path: Path) -> AsyncIterator[Harness]:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'sputnik.db'}")
    yield bot
    await bot.close()


def text_of(card: Card) -> str:
    return render_text(card, "en")


async def test_shock_nvda_on_the_deepseek_day_reproduces_the_real_figures(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    assert card.severity is Severity.CRITICAL
    fields = {field.name: field.value for field in card.fields + card.closing}
    assert fields["Move"] == "−16.97 %"
    assert fields["Gap at open"] == "−12.49 %"
    assert fields["Prev close → close"] == "142.62 → 118.42"
    comparison = fields["Next to the indices (proxies named)"].splitlines()
    assert comparison[0] == "NVDA −16.97 % · gap −12.49 % · z −5.8 · vs SOX −7.82 pp"
    assert comparison[1] == "SOX −9.15 % · gap −6.25 % · z −5.4"
    assert comparison[2].startswith("SPX −1.46 %")
    assert comparison[3].startswith("COMP −3.07 % · gap −3.61 %")
    assert comparison[4].startswith("DJI +0.65 % · gap −0.62 %")
    assert "nvda_decoupling [critical]" in fields["Presets on NVDA"]
    assert "deepseek [critical]" in fields["Market presets, same session"]
    assert fields["What followed"].startswith("1-session +8.93 %")
    similar = fields["Most similar past sessions, and what followed"]
    assert similar.count("•") == 3
    assert "SPX (proxy SPY)" in similar and "COMP (proxy QQQ)" in similar  # proxies named
    assert "DJI (proxy DIA)" not in similar  # ^DJI runs from 1992: the Dow itself
    assert "KCIF New York office report" in card.text  # the views of that day, sourced
    assert card.chart_png is not None and card.chart_png.startswith(PNG_SIGNATURE)
    assert len(card.chart_png) < 150_000
    assert "Not investment advice" in card.footer.disclaimer
    assert card.footer.as_of is not None and card.footer.source


async def test_shock_in_korean_uses_korean_labels_and_number_style(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/shock NVDA 2025-01-27")
    fields = {field.name: field.value for field in card.fields}
    assert card.title == "NVDA 충격 분석 · 2025년 1월 27일 (월)"
    assert fields["등락률"] == "−16.97 %"
    assert "DJI +0.65 %" in fields["지수와 비교 (대용 표시)"]
    assert card.footer.disclaimer.startswith("투자 권유 아님")


async def test_shock_without_a_date_uses_the_latest_session_with_symbol_and_sox(
    harness: Harness,
) -> None:
    card = await harness.run("/shock NVDA")
    assert "21 Aug 2026" in card.title


async def test_shock_on_a_korean_symbol_names_the_session_after_seollal(harness: Harness) -> None:
    card = await harness.run("/shock HYNIX 2025-01-31")
    fields = {field.name: field.value for field in card.fields}
    assert fields["Move"].startswith("−9.")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/shock SOXY", "Unknown symbol 'SOXY'. Did you mean SOX, SOXX?"),
        ("/shock NVDA 2025-13-01", "Can't read '2025-13-01' as a date"),
        (
            "/shock NVDA 2025-01-25",
            "No trading session on 2025-01-25. Nearest sessions: Fri 24 Jan 2025, Mon 27 Jan 2025",
        ),
        ("/shock NVDA 2031-01-01", "is outside the history"),
        ("/shock", "SYMBOL is required. Usage: /shock SYMBOL [DATE]"),
        ("/shock NVDA 2025-01-27 extra", "Too many arguments (extra)"),
        ("/shok NVDA", "There is no command 'shok'. Try /shock."),
        ('/rules test "SOX.pct <= -5 and"', "Couldn't understand the rule: expected a number"),
        ('/rules test "SOX.pct <= -5', "A quote is not closed"),
        ("/shock " + "N" * 400, "'SYMBOL' is too long (400 characters, at most 300)."),
        ("/views nonsense", "No episode, topic, speaker or institution matches 'nonsense'."),
        ("/lang klingon", "'klingon' is not a supported language."),
        ("/subscribe alerts deepsek", "No preset 'deepsek'."),
        ("/subscribe alerts deepseek sometimes", "'sometimes' is not an alert policy."),
        ("/subscribe alerts deepseek until=2020-01-01", "has already passed"),
        ("/subscribe digest 25:00", "'25:00' is not a time."),
        ("/subscribe digest 08:00 Mars/Olympus", "Unknown time zone 'Mars/Olympus'."),
        ("/unsubscribe alerts chip_crash", "not subscribed to 'chip_crash'"),
        ("/rules remove nothing_here", "This channel has no rule 'nothing_here'."),
        ("/subscribe", "Use one of: /subscribe alerts RULE [POLICY] [UNTIL]"),
        ("/rules frob", "Use one of: /rules list"),
        ('/rules test "SOX.pct / 0 < 1"', "can never be decided"),
        ('/rules add X "SOX.pct < 1"', "Rule name 'X' is not allowed"),
        ('/rules add deepseek "SOX.pct < 1"', "'deepseek' is a preset's name."),
        ("/quote " + " ".join(["NVDA"] * 11), "At most 10 symbols at a time."),
    ],
)
async def test_bad_input_gets_a_friendly_reply_never_a_traceback(
    harness: Harness, command: str, expected: str
) -> None:
    card = await harness.run(command)
    assert card.severity is Severity.ERROR
    assert expected in card.text
    assert "Traceback" not in text_of(card)


async def test_bad_input_is_answered_in_the_channels_language(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/shock SOXY")
    assert card.text == "'SOXY' 종목을 찾을 수 없습니다. 혹시 SOX, SOXX인가요?"
    card = await harness.run("/shock NVDA 2025-01-25")
    assert "가까운 거래일: 2025년 1월 24일 (금), 2025년 1월 27일 (월)" in card.text


async def test_a_user_without_permission_cannot_change_subscriptions(harness: Harness) -> None:
    for command in (
        "/subscribe alerts deepseek",
        "/subscribe digest",
        '/rules add mine "SOX.pct < -3"',
        "/lang ko",
        "/unsubscribe digest",
    ):
        card = await harness.run(command, can_admin=False)
        assert card.severity is Severity.ERROR
        assert "permission" in card.text
    assert await harness.services.store.list_subscriptions(harness.channel) == []


async def test_subscribe_alerts_stores_the_policy_and_expiry(harness: Harness) -> None:
    card = await harness.run("/subscribe alerts deepseek cooldown=2h until=2030-12-31")
    assert card.severity is Severity.INFO
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert subscription.rule_id == "deepseek"
    assert subscription.policy.text() == "cooldown=2h"
    assert str(subscription.expires) == "2030-12-31"


async def test_subscribe_to_a_quoted_custom_rule_and_unsubscribe_it(harness: Harness) -> None:
    await harness.run('/subscribe alerts "NVDA.pct - SOX.pct <= -5" once')
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert subscription.expression == "NVDA.pct - SOX.pct <= -5"
    assert subscription.policy.kind == "once"
    card = await harness.run('/unsubscribe alerts "NVDA.pct - SOX.pct <= -5"')
    assert card.severity is not Severity.ERROR
    assert await harness.services.store.list_subscriptions(harness.channel) == []


async def test_subscribe_digest_defaults_and_zone(harness: Harness) -> None:
    await harness.run("/subscribe digest 7:30 Asia/Seoul")
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert (subscription.kind, subscription.digest_time, subscription.digest_zone) == (
        "digest",
        "07:30",
        "Asia/Seoul",
    )
    await harness.run("/unsubscribe digest")
    assert await harness.services.store.list_subscriptions(harness.channel) == []


async def test_rules_add_list_remove(harness: Harness) -> None:
    await harness.run('/rules add memory_crash "MU.pct <= -8" cooldown=1d')
    card = await harness.run("/rules list")
    fields = {field.name: field.value for field in card.fields}
    assert "deepseek: SOX.pct <= -5 and DJI.pct > 0 — " in fields["Built-in presets"]
    assert "memory_crash: MU.pct <= -8 (cooldown 1d" in fields["This channel's own rules"]
    assert "`" not in card.fields[0].value + card.fields[1].value  # no platform markup
    await harness.run("/rules remove memory_crash")
    card = await harness.run("/rules list")
    assert {f.name: f.value for f in card.fields}["This channel's own rules"] == "none"


async def test_rules_test_backtests_and_shows_the_last_five_firings(harness: Harness) -> None:
    card = await harness.run('/rules test "SOX.pct <= -5 and DJI.pct > 0"')
    assert "Fired on 22 of" in card.text
    [field] = card.fields
    lines = field.value.splitlines()
    assert len(lines) == 5  # newest first
    assert lines[3].startswith("• Mon 27 Jan 2025: SOX.pct −9.15 %, DJI.pct +0.65 %")
    assert "via DJI→DIA" not in lines[3]  # ^DJI itself had the session


async def test_history_lists_alerts_enqueued_for_the_channel(harness: Harness) -> None:
    from datetime import UTC, date, datetime

    from bot.domain.model import AlertEvent, Channel

    store = harness.services.store
    await store.upsert_channel(Channel(harness.channel))
    subscription = Subscription(harness.channel, "deepseek")
    await store.add_subscription(subscription)
    event = AlertEvent(
        "deepseek", date(2025, 1, 27), 3, "critical", datetime(2025, 1, 27, 21, tzinfo=UTC)
    )
    await store.claim_and_enqueue([(subscription, event)], datetime(2025, 1, 27, 21, tzinfo=UTC))
    card = await harness.run("/history")
    assert card.fields and "deepseek [critical]" in card.fields[0].name


async def test_history_is_empty_for_a_new_channel(harness: Harness) -> None:
    card = await harness.run("/history")
    assert card.text == "No alerts have been sent to this channel yet."


async def test_quote_shows_latest_figures_and_names_proxies(harness: Harness) -> None:
    card = await harness.run("/quote NVDA DJI")
    names = [field.name for field in card.fields]
    assert names == ["NVDA", "DJI (proxy DIA)"]
    assert "Close 214.72" in card.fields[0].value


async def test_quote_without_symbols_shows_the_main_indices_first(harness: Harness) -> None:
    card = await harness.run("/quote")
    new_york = card.fields[0]
    assert new_york.name.startswith("NYSE — ")
    assert [line.split(" ")[0] for line in new_york.value.splitlines()][:2] == ["SOX", "NVDA"]


async def test_views_by_topic_and_all(harness: Harness) -> None:
    card = await harness.run("/views valuation")
    assert card.title == "Expert views: Valuation"
    assert any("Ray Dalio" in field.name for field in card.fields)
    everything = await harness.run("/views")  # the episodes, newest first
    assert everything.title == "Past shock episodes (newest first)"
    assert any(field.name.startswith("DeepSeek shock · 2025-01-27") for field in everything.fields)


async def test_help_lists_every_command_in_the_channels_language(harness: Harness) -> None:
    card = await harness.run("/help")
    usages = [field.name for field in card.fields]
    for usage in (
        "/shock SYMBOL [DATE]",
        "/quote [SYMBOLS…]",
        "/rules test RULE",
        "/lang LANGUAGE",
        "/history",
    ):
        assert usage in usages
    await harness.run("/lang ko")
    card = await harness.run("/help")
    assert card.title == "스푸트니크 명령어"


async def test_a_bug_in_a_handler_is_logged_and_the_user_sees_a_reference_not_a_trace(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.services.views = None  # type: ignore[assignment]  # sabotage: /views will crash
    card = await harness.run("/views")
    assert card.severity is Severity.ERROR
    assert "Something went wrong on our side" in card.text and "ref" in card.text
    assert "Traceback" not in card.text and "NoneType" not in card.text
    assert any("command /views failed" in record.message for record in caplog.records)


async def test_the_store_being_down_gets_a_friendly_reply(core: Core, tmp_path: Path) -> None:
    bot = await Harness.start(core, f"sqlite:///{tmp_path / 'x.db'}")
    await bot.close()  # the store is closed: every call fails
    card = await bot.run("/subscribe alerts deepseek")
    assert card.severity is Severity.ERROR
    assert "store is unreachable" in card.text


def test_every_command_has_a_docstring_description_and_korean_help(core: Core) -> None:
    from bot.domain.i18n import has_message
    from handlers.registry import load_registry

    for command in load_registry():
        assert command.description and command.description.endswith(".")
        assert has_message("command." + command.name.replace(" ", "_")), command.name


def test_channel_refs_are_distinct_per_harness() -> None:
    assert ChannelRef("test", "local", "harness").key == "test:local:harness"


async def test_shock_on_a_symbol_that_rose_is_not_loud_because_other_presets_fired(
    harness: Harness,
) -> None:
    card = await harness.run("/shock AAPL 2025-01-27")
    fields = {field.name: field.value for field in card.fields}
    assert fields["Move"] == "+3.18 %"
    assert card.severity is not Severity.CRITICAL
    assert fields["Presets on AAPL"] == "No preset tripped"
    assert "deepseek" in fields["Market presets, same session"]


async def test_shock_on_a_quiet_day_attaches_no_expert_views(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2024-06-10")
    assert card.severity is Severity.INFO
    assert card.text.startswith("Not a shock")


async def test_shock_explains_unavailable_figures(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2012-03-05")
    fields = {field.name: field.value for field in card.fields}
    assert fields["Move"] == "n/a"
    assert "rounded to the cent" in fields["Notes"]


async def test_shock_on_the_dow_reads_the_index_itself_where_it_has_the_session(
    harness: Harness,
) -> None:
    card = await harness.run("/shock DJI 2025-01-27")
    # ^DJI rose 0.65 % that day (DIA, the proxy, +0.68 %): a quiet session, no proxy named
    assert card.title == "DJI · Mon 27 Jan 2025: a quiet session, no shock"


async def test_shock_on_an_alias_served_by_a_proxy_names_the_proxy(harness: Harness) -> None:
    card = await harness.run("/shock DJI 2026-03-06")  # ^DJI's file ends on 2026-03-05
    assert card.title.startswith("DJI (proxy DIA) · Fri 6 Mar 2026")


async def test_shock_shows_both_sides_of_expert_opinion(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2025-01-27")
    assert "(Bullish)" in card.text and "(Bearish)" in card.text


async def test_quote_of_an_index_whose_file_ends_early_uses_its_named_proxy(
    harness: Harness,
) -> None:
    card = await harness.run("/quote SPX")
    assert card.fields[0].name == "SPX (proxy SPY)"
    assert "21 Aug 2026" in card.fields[0].value


async def test_help_for_one_command_describes_its_parameters(harness: Harness) -> None:
    card = await harness.run("/help shock")
    assert card.title == "Help: /shock"
    assert "SYMBOL: Symbol or alias" in card.fields[0].value


def test_every_parameter_description_exists_in_both_languages() -> None:
    from bot.domain.i18n import has_message, t
    from handlers.registry import load_registry

    for command in load_registry():
        for param in command.params:
            key = f"param.{command.name.replace(' ', '_')}.{param.name}"
            assert has_message(key), key
            assert t(key, "en") == param.description, key


async def test_shock_on_a_korean_symbol_compares_with_the_us_sessions_since_its_last_close(
    harness: Harness, core: Core
) -> None:
    card = await harness.run("/shock HYNIX 2025-01-31")
    fields = {field.name: field.value for field in card.fields}
    [title] = [name for name in fields if name.startswith("Next to the indices")]
    assert "US Fri 24 Jan 2025 – Thu 30 Jan 2025 (US sessions since its previous close: 5)" in title
    sox = core.market.table("^SOX")
    assert sox is not None
    daily = sox.frame["pct"].loc["2025-01-24":"2025-01-30"]  # type: ignore[misc]
    compounded = ((1 + daily / 100).prod() - 1) * 100
    assert f"SOX {compounded:.2f} %".replace("-", "−") in fields[title]
    assert fields[title].splitlines()[0].startswith("HYNIX −9.86 %")
    [presets] = [value for name, value in fields.items() if name.startswith("US market presets")]
    assert "deepseek [critical]" in presets
    assert card.severity is Severity.CRITICAL  # its own −9.86 % (z needs 20 prior moves)


async def test_korean_replies_name_policies_and_speakers_in_korean(harness: Harness) -> None:
    await harness.run("/lang ko")
    card = await harness.run("/subscribe alerts deepseek cooldown=2h")
    assert "쿨다운 2시간" in card.text and "cooldown" not in card.text
    card = await harness.run("/shock NVDA 2025-01-27")
    assert "**" not in card.text and "Kwon Do-hyun" not in card.text
    card = await harness.run("/unsubscribe digest")
    assert "일일 요약" in card.text


async def test_a_new_korean_channel_gets_seoul_time_for_its_digest(harness: Harness) -> None:
    await harness.run("/lang ko")
    await harness.run("/subscribe digest 07:00")
    [subscription] = await harness.services.store.list_subscriptions(harness.channel)
    assert subscription.digest_zone == "Asia/Seoul"


async def test_help_for_an_unknown_command_says_so(harness: Harness) -> None:
    card = await harness.run("/help shok")
    assert card.severity is Severity.ERROR and "/help shock" in card.text


async def test_a_large_move_no_preset_explains_still_gets_views(harness: Harness) -> None:
    card = await harness.run("/shock NVDA 2024-05-23")  # +9.3 % on earnings, no preset
    assert card.severity is not Severity.INFO
    assert not card.text.startswith("Not a shock")
