"""/shock and /quote for the overseas markets through the real discord.py client, on the fake
gateway and REST API: a Korean trader's /shock 어드반테스트 and an English /quote."""

from __future__ import annotations

from bot.chat.discord.app import DiscordRuntime
from tests.chat.conftest import CHANNEL, GUILD
from tests.chat.test_discord_commands import embed_text, option, replies, run
from tests.fakes.discord_fake import FakeDiscord, InteractionFactory


async def test_a_korean_trader_asks_discord_for_advantest_on_the_deepseek_monday(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command(
        "shock", [option("symbol", "어드반테스트"), option("date", "2025-01-27")], locale="ko"
    )
    [callback] = await run(fake, payload)
    assert callback.json["type"] == 5  # deferred, then followed up
    [followup] = await replies(fake, f"/webhooks/{payload['application_id']}/{payload['token']}")
    text = embed_text(followup.json)
    assert "어드반테스트 충격 분석 · 2025년 1월 27일 (월)" in text
    assert "어드반테스트 −8.61 % · 갭 −4.43 % · z −2.5 · 닛케이225 대비 −7.69 %p" in text
    assert "이어진 뉴욕 거래일 (2025년 1월 27일 (월)) SOX −9.15 %" in text
    assert "종가 · 2025년 1월 27일 (월) 15:30 KST · TSE 15:30 JST" in text


async def test_quote_on_discord_groups_the_markets(
    runtime: DiscordRuntime, fake: FakeDiscord
) -> None:
    payload = InteractionFactory(GUILD, CHANNEL).command("quote")
    [callback] = await run(fake, payload)
    text = embed_text(callback.json)
    for market in ("NYSE — ", "KRX — ", "TSE — ", "Euronext — ", "CME — "):
        assert market in text
    assert "ADVANTEST " in text and "NQ " in text
