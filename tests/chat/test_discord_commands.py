"""Slash commands over a real `client.connect()` to the fake gateway, answered through REST."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.chat.discord.app import DiscordRuntime
from bot.domain.i18n import has_message, t
from bot.domain.model import Channel, ChannelRef, Subscription
from handlers.registry import load_registry
from tests.chat.conftest import CHANNEL, GUILD
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory, Recorded
from tests.fakes.memory_store import MemoryStore

MANAGE_CHANNELS = 1 << 4
HERE = ChannelRef("discord", str(GUILD), str(CHANNEL))


async def replies(fake: FakeDiscord, prefix: str, count: int = 1) -> list[Recorded]:
    """Wait (briefly) until `count` requests under `prefix` have arrived."""
    for _ in range(500):
        found = [r for r in fake.requests if r.path.startswith(prefix)]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {prefix} request: {[r.path for r in fake.requests]}")


def option(name: str, value: Any, kind: int = 3, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value, **extra}


def sub(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "type": 1, "options": options or []}


async def run(fake: FakeDiscord, payload: dict[str, Any], calls: int = 1) -> list[Recorded]:
    await fake.dispatch("INTERACTION_CREATE", payload)
    return await replies(fake, f"/interactions/{payload['id']}/", calls)


def embed_text(body: dict[str, Any]) -> str:
    parts = []
    for embed in body["data"]["embeds"] if "data" in body else body["embeds"]:
        parts.append(embed.get("title", "") + "\n" + embed.get("description", ""))
        parts += [f["name"] + " " + f["value"] for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_the_command_tree_syncs_with_options_choices_autocomplete_and_localizations(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    await runtime.sync()
    commands = {c["name"]: c for c in fake.commands["global"]}
    assert {"shock", "quote", "subscribe", "unsubscribe", "rules", "lang", "mention"} <= set(
        commands
    )
    shock = commands["shock"]
    symbol, date = shock["options"]
    assert (symbol["name"], symbol["type"], symbol["required"]) == ("symbol", 3, True)
    assert symbol["autocomplete"] is True
    assert date["required"] is False
    assert symbol["name_localizations"]["ko"] == "종목"
    assert "종목" in symbol["description_localizations"]["ko"]
    assert shock["description_localizations"]["ko"].startswith("종목의 하루 등락")
    assert shock["description_localizations"]["en-US"].startswith("Explain")
    assert shock["dm_permission"] is False
    lang = commands["lang"]
    assert lang["default_member_permissions"] == MANAGE_CHANNELS
    korean, english = lang["options"][0]["choices"]
    assert (korean["value"], english["value"]) == ("ko", "en")
    assert korean["name_localizations"]["ko"] == "한국어 (ko)"
    assert english["name"] == "English (en)"
    assert commands["mention"]["default_member_permissions"] == MANAGE_CHANNELS
    assert commands["subscribe"]["default_member_permissions"] == MANAGE_CHANNELS
    assert commands["unsubscribe"]["default_member_permissions"] == MANAGE_CHANNELS
    rules = commands["rules"]
    assert rules["default_member_permissions"] is None  # /rules list and test stay open
    assert {o["name"] for o in rules["options"]} == {"list", "add", "remove", "test"}
    alerts = next(o for o in commands["subscribe"]["options"] if o["name"] == "alerts")
    assert alerts["type"] == 1
    policy = next(o for o in alerts["options"] if o["name"] == "policy")
    assert policy["autocomplete"] is True


async def test_a_guild_sync_copies_the_commands_to_that_guild(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    await runtime.sync(GUILD)
    assert {c["name"] for c in fake.commands[str(GUILD)]} >= {"shock", "rules"}


async def test_shock_defers_then_follows_up_with_an_embed_and_its_chart(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    make = InteractionFactory(GUILD, CHANNEL)
    payload = make.command("shock", [option("symbol", "NVDA"), option("date", "2025-01-27")])
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 5  # deferred, "thinking"
    webhook = f"/webhooks/{payload['application_id']}/{payload['token']}"
    [followup] = await replies(fake, webhook)
    assert followup.method == "POST"
    assert followup.query.get("wait") in ("1", "true")
    assert "NVDA" in embed_text(followup.json)
    assert followup.json["embeds"][-1]["image"]["url"].startswith("attachment://")
    assert any(name.endswith(".png") for name in followup.files)
    assert not followup.json.get("flags")  # visible to the channel
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_a_korean_user_in_a_new_channel_is_answered_in_korean(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("rules", [sub("list")], locale="ko")
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 4
    assert "프리셋" in embed_text(callback.json)


async def test_the_stored_language_wins_over_the_users_locale(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(HERE, language="en"))
    payload = InteractionFactory(GUILD, CHANNEL).command("rules", [sub("list")], locale="ko")
    [callback] = await run(fake, payload)
    text = embed_text(callback.json)
    assert "Built-in presets" in text and "프리셋" not in text


async def test_a_japanese_user_in_a_korean_guild_gets_the_guilds_language(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "rules", [sub("list")], locale="ja", guild_locale="ko"
    )
    [callback] = await run(fake, payload)
    assert "프리셋" in embed_text(callback.json)


async def test_help_is_ephemeral(runtime: DiscordRuntime, fake: FakeDiscord) -> None:
    [callback] = await run(fake, InteractionFactory(GUILD, CHANNEL).command("help"))
    assert callback.json["data"]["flags"] & 64


async def test_a_member_without_manage_channels_is_refused_politely_on_subscribe(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "subscribe", [sub("alerts", [option("rule", "deepseek")])], permissions=0
    )
    [callback] = await run(fake, payload)
    assert callback.json["data"]["flags"] & 64
    assert "permission" in embed_text(callback.json)
    assert not store.subscriptions


async def test_a_member_without_manage_channels_is_refused_on_rules_add(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    options = [option("name", "my_rule"), option("rule", "NVDA.pct <= -5")]
    payload = InteractionFactory(GUILD, CHANNEL).command("rules", [sub("add", options)])
    [callback] = await run(fake, payload)
    assert callback.json["data"]["flags"] & 64
    assert "permission" in embed_text(callback.json)
    assert not store.subscriptions


async def test_a_channel_admin_subscribes_and_the_reply_is_visible(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "subscribe",
        [sub("alerts", [option("rule", "deepseek"), option("policy", "once")])],
        permissions=MANAGE_CHANNELS,
    )
    [callback] = await run(fake, payload)
    assert not callback.json["data"].get("flags")
    [subscription] = store.subscriptions.values()
    assert (subscription.rule_id, subscription.policy.kind) == ("deepseek", "once")


async def test_an_admin_sets_the_alert_mention_to_a_role(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "mention", [option("role", "<@&444444444444444444>")], permissions=MANAGE_CHANNELS
    )
    [callback] = await run(fake, payload)
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}
    stored = await store.get_channel(HERE)
    assert stored is not None and stored.mention == "444444444444444444"


async def test_symbols_autocomplete_offers_aliases_and_shipped_symbols(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "shock", [option("symbol", "hyn", focused=True)], kind=4
    )
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 8
    assert "HYNIX" in [c["value"] for c in callback.json["data"]["choices"]]


async def test_presets_and_policies_autocomplete(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    make = InteractionFactory(GUILD, CHANNEL)
    presets = make.command(
        "subscribe", [sub("alerts", [option("rule", "deep", focused=True)])], kind=4
    )
    [callback] = await run(fake, presets)
    assert [c["value"] for c in callback.json["data"]["choices"]] == ["deepseek"]
    policies = make.command(
        "subscribe",
        [sub("alerts", [option("rule", "deepseek"), option("policy", "cool", focused=True)])],
        kind=4,
    )
    [callback] = await run(fake, policies)
    assert "cooldown=30m" in [c["value"] for c in callback.json["data"]["choices"]]


async def test_rules_autocomplete_offers_this_channels_own_rules(
    runtime: DiscordRuntime, fake: FakeDiscord, store: MemoryStore
) -> None:
    await store.upsert_channel(Channel(HERE))
    await store.save_rule(HERE, "nvda_drop", "NVDA.pct < -5")
    await store.add_subscription(
        Subscription(HERE, "custom:NVDA.pct < -5", "alert", "NVDA.pct < -5")
    )
    await store.save_rule(HERE, "sox_gap", "SOX.gap < -3")  # saved, not subscribed: still its own
    await store.add_subscription(Subscription(HERE, "custom:AMD.pct < -9", "alert", "AMD.pct < -9"))
    await store.add_subscription(Subscription(HERE, "deepseek"))  # a preset, not a rule
    make = InteractionFactory(GUILD, CHANNEL)
    payload = make.command("rules", [sub("remove", [option("name", "", focused=True)])], kind=4)
    [callback] = await run(fake, payload)
    assert [c["value"] for c in callback.json["data"]["choices"]] == ["nvda_drop", "sox_gap"]
    subscribe = make.command(
        "subscribe", [sub("alerts", [option("rule", "sox_", focused=True)])], kind=4
    )
    [callback] = await run(fake, subscribe)
    assert [c["value"] for c in callback.json["data"]["choices"]] == ["sox_gap"], "saved rules too"


async def test_every_option_registered_with_discord_carries_its_description_and_choices(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    """The tree built with discord.py's decorators: each registry param's English description
    from the catalog, its Korean name and description, its closed set as choices and its
    open set as autocomplete, on every command and sub-command Discord receives."""
    await runtime.sync()
    synced: dict[str, dict[str, Any]] = {}
    for item in fake.commands["global"]:
        subs = [o for o in item.get("options", []) if o["type"] == 1]
        if not subs:
            synced[item["name"]] = item
        synced |= {f"{item['name']} {s['name']}": s for s in subs}
    registry = load_registry()
    assert set(synced) == set(registry.commands)
    for command in registry:
        key = command.name.replace(" ", "_")
        options = {o["name"]: o for o in synced[command.name].get("options", [])}
        assert set(options) == {p.name for p in command.params}, command.name
        for param in command.params:
            found = options[param.name]
            described = f"param.{key}.{param.name}"
            if has_message(described):
                assert found["description"] == t(described, "en")[:100]
                assert found["description_localizations"]["ko"] == t(described, "ko")[:100]
            else:
                assert found["description"] == (param.description or "…")[:100]
            assert found["required"] is param.required, (command.name, param.name)
            values = [c["value"] for c in found.get("choices", [])]
            assert values == list(param.choices), (command.name, param.name)
            assert found.get("autocomplete", False) is bool(param.autocomplete and not values)
