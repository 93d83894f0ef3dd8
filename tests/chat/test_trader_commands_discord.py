"""The trader's commands on Discord (issue 23 item 2): the tree discord.py syncs carries them,
and an interaction runs them, over the fake gateway and REST."""

from __future__ import annotations

from bot.chat.discord.app import DiscordRuntime
from bot.domain.model import Channel, Subscription
from bot.stores.memory import MemoryStore
from tests.chat.conftest import CHANNEL, GUILD
from tests.chat.test_discord_commands import (
    HERE,
    MANAGE_CHANNELS,
    embed_text,
    option,
    run,
    sub,
)
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory


async def test_the_synced_tree_holds_snooze_mute_digest_now_and_watchlist(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    await runtime.sync()
    commands = {c["name"]: c for c in fake.commands["global"]}
    snooze = commands["snooze"]
    [when] = snooze["options"]
    assert (when["name"], when["type"], when["required"]) == ("when", 3, False)
    assert when["name_localizations"]["ko"] == "언제"
    assert "drop" in when["description"]
    assert snooze["default_member_permissions"] == MANAGE_CHANNELS
    for name in ("mute", "unmute"):
        [rule] = commands[name]["options"]
        assert rule["autocomplete"] is True and rule["required"] is True
        assert commands[name]["default_member_permissions"] == MANAGE_CHANNELS
    digest = commands["digest"]
    assert [o["name"] for o in digest["options"]] == ["now"]
    assert digest["default_member_permissions"] is None  # anyone may ask
    watchlist = commands["watchlist"]
    assert {o["name"] for o in watchlist["options"]} == {"show", "add", "remove"}
    assert watchlist["default_member_permissions"] is None  # show stays open
    assert digest["description_localizations"]["ko"] == "이 채널의 요약을 지금 받기"


async def test_an_admin_snoozes_with_drop_and_mutes_a_preset_through_interactions(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(HERE))
    await store.add_subscription(Subscription(HERE, "deepseek"))
    make = InteractionFactory(GUILD, CHANNEL)
    payload = make.command("snooze", [option("when", "2h drop")], permissions=MANAGE_CHANNELS)
    [callback] = await run(fake, payload)
    assert "Alerts that come meanwhile are dropped." in embed_text(callback.json)
    stored = await store.get_channel(HERE)
    assert stored is not None and stored.snooze is not None and stored.snooze.drop
    mute = make.command("mute", [option("rule", "deepseek")], permissions=MANAGE_CHANNELS)
    [callback] = await run(fake, mute)
    assert "is muted in this channel" in embed_text(callback.json)
    [muted] = await store.list_subscriptions(HERE)
    assert muted.rule_id == "deepseek" and muted.muted


async def test_a_member_may_show_the_watchlist_but_not_change_it(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    make = InteractionFactory(GUILD, CHANNEL)
    shown = make.command("watchlist", [sub("show")], permissions=0)
    [callback] = await run(fake, shown)
    assert "NVDA" in embed_text(callback.json)
    add = make.command("watchlist", [sub("add", [option("symbols", "AMD")])], permissions=0)
    [callback] = await run(fake, add)
    assert callback.json["data"]["flags"] & 64 and "permission" in embed_text(callback.json)
    stored = await store.get_channel(HERE)
    assert stored is None or stored.watchlist is None
