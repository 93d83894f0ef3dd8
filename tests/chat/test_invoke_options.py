"""`invoke_options`: a command run from a platform's parsed options (Discord's path)."""

from __future__ import annotations

from bot.domain.cards import Severity
from bot.domain.model import ChannelRef
from bot.services import Services
from handlers.base import Invocation
from handlers.registry import dispatch_text, invoke_options, load_registry
from tests.fakes.memory_store import MemoryStore

HERE = ChannelRef("discord", "1", "2")
REGISTRY = load_registry()


def invocation(services: Services, *, admin: bool = True, locale: str = "en") -> Invocation:
    return Invocation("u1", HERE, locale, admin, services)  # type: ignore[arg-type]


async def test_options_give_the_same_card_as_the_typed_command(services: Services) -> None:
    inv = invocation(services)
    options = {"symbol": "NVDA", "date": "2025-01-27"}
    by_options = await invoke_options(REGISTRY.commands["shock"], inv, options)
    by_text = await dispatch_text(REGISTRY, inv, "/shock NVDA 2025-01-27")
    assert by_options.title == by_text.title
    assert by_options.fields == by_text.fields


async def test_a_variadic_option_is_split_on_spaces(services: Services) -> None:
    card = await invoke_options(
        REGISTRY.commands["quote"], invocation(services), {"symbols": "NVDA SOX"}
    )
    names = " ".join(f.name for f in card.fields) + card.text
    assert "NVDA" in names and "SOX" in names


async def test_a_rule_with_comparison_signs_arrives_whole(
    services: Services, store: MemoryStore
) -> None:
    options = {"rule": "SOX.pct <= -5 and DJI.pct > 0", "policy": "cooldown=30m", "until": None}
    card = await invoke_options(
        REGISTRY.commands["subscribe alerts"], invocation(services), options
    )
    assert card.severity is not Severity.ERROR
    [subscription] = store.subscriptions.values()
    assert subscription.expression == "SOX.pct <= -5 and DJI.pct > 0"
    assert subscription.policy.cooldown_seconds == 1800


async def test_a_missing_required_option_is_a_friendly_error(services: Services) -> None:
    card = await invoke_options(REGISTRY.commands["shock"], invocation(services), {})
    assert card.severity is Severity.ERROR
    assert "/shock SYMBOL [DATE]" in card.text


async def test_an_admin_command_without_admin_rights_is_refused_in_the_callers_language(
    services: Services, store: MemoryStore
) -> None:
    inv = invocation(services, admin=False, locale="ko")
    card = await invoke_options(
        REGISTRY.commands["rules add"], inv, {"name": "abc", "rule": "NVDA.pct < 0"}
    )
    assert card.severity is Severity.ERROR
    assert "권한" in card.text
    assert not store.subscriptions


async def test_mention_off_and_a_group_id_are_stored_for_the_channel(
    services: Services, store: MemoryStore
) -> None:
    inv = invocation(services)
    await invoke_options(REGISTRY.commands["mention"], inv, {"role": "123456789"})
    assert store.channels[HERE].mention == "123456789"
    await invoke_options(REGISTRY.commands["mention"], inv, {"role": "off"})
    assert store.channels[HERE].mention is None
    bad = await invoke_options(REGISTRY.commands["mention"], inv, {"role": "bob"})
    assert bad.severity is Severity.ERROR


async def test_the_handler_reads_no_platform_mention_markup(services: Services) -> None:
    """`<@&id>` and `<!subteam^ID>` are each adapter's to read, not the handler's."""
    inv = invocation(services)
    for markup in ("<@&123456789>", "<!subteam^S0123ABC|@traders>"):
        card = await invoke_options(REGISTRY.commands["mention"], inv, {"role": markup})
        assert card.severity is Severity.ERROR, markup
