"""`/views [TOPIC]`: what experts said, by topic."""

from __future__ import annotations

from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.i18n import format_date, t
from bot.domain.views import TOPICS, UnknownTopicError, normalize_topic, views_for_topic
from handlers.base import Invocation, UserError, command
from handlers.common import footer

MAX_VIEWS = 6


@command("views")
async def views(
    inv: Invocation, topic: Annotated[str | None, "A topic, e.g. ai-capex, valuation"] = None
) -> Card:
    """Expert views on shocks like DeepSeek's, optionally on one topic."""
    locale = inv.locale
    try:
        chosen = views_for_topic(inv.services.views, topic)
    except UnknownTopicError:
        topics = ", ".join(TOPICS)
        raise UserError("error.unknown_topic", topic=(topic or "")[:40], topics=topics) from None
    title = t("views.title", locale)
    if topic:
        title = t("views.title_topic", locale, topic=t(f"topic.{normalize_topic(topic)}", locale))
    fields = tuple(
        CardField(
            " · ".join(
                (
                    view.speaker_name(locale),
                    t("stance." + view.stance, locale),
                    *([format_date(view.date, locale)] if view.date_given else []),
                )
            ),
            f"{view.summary(locale)}\n— {view.attribution(locale)}",
            inline=False,
        )
        for view in chosen[:MAX_VIEWS]
    )
    text = "" if fields else t("views.none", locale)
    if len(chosen) > MAX_VIEWS:
        text = t("views.more", locale, count=len(chosen) - MAX_VIEWS)
    return Card(
        title=title,
        fields=fields,
        text=text,
        footer=footer(inv, t("common.views_source", locale), None),
    )
