"""The news part of a card (contract sections 5 and 6): headlines, then the checked synthesis.

Read from what was stored with the alert event or the digest, so every channel and every
resend shows the same; a replay says why it shows none; a section with nothing is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.cards import CardField
from bot.domain.i18n import Locale
from bot.domain.news import headlines_field, headlines_from_payload, replay_news_field
from bot.domain.synthesis import summary_field


def news_section(
    payload: Mapping[str, Any],
    locale: Locale,
    zone: ZoneInfo,
    *,
    replay: bool,
    key: str = "news.field",
) -> list[CardField]:
    """The headlines field and the synthesis field in `locale` (the replay note in a replay)."""
    if replay:
        return [replay_news_field(locale, key=key)]
    fields = []
    headlines = headlines_field(headlines_from_payload(payload.get("news")), locale, zone, key=key)
    if headlines is not None:
        fields.append(headlines)
    docs = payload.get("summary")
    synthesis = summary_field(docs.get(locale) if isinstance(docs, Mapping) else None, locale)
    if synthesis is not None:
        fields.append(synthesis)
    return fields
