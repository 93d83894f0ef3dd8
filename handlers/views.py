"""`/views [QUERY…]`: the past episodes, or what experts said about one of them, a topic or tag,
a speaker or an institution — in Korean or English."""

from __future__ import annotations

from typing import Annotated

from bot.domain.cards import Card, CardField
from bot.domain.episodes import Episode
from bot.domain.i18n import Locale, format_date, t
from bot.domain.library import library_of
from bot.domain.view_search import NoViewsMatch, ViewSearch, search_views
from bot.domain.view_section import attribution_text
from bot.domain.views import ExpertView
from handlers.base import Invocation, UserError, command
from handlers.common import footer

MAX_VIEWS = 6
MAX_EPISODES = 24
FIELD_ROOM = 1000
"""Characters per view field (Discord allows 1,024)."""


@command("views")
async def views(
    inv: Invocation,
    *query: Annotated[
        str, "An episode (date or name), a topic, a speaker or an institution, e.g. 2024-08-05"
    ],
) -> Card:
    """Past shock episodes, or what experts said about one, a topic, a speaker or an institution."""
    locale = inv.locale
    text = " ".join(query)
    try:
        found = search_views(library_of(inv.services.views), text)
    except NoViewsMatch as exc:
        hint = (
            t("views.did_you_mean", locale, suggestions=", ".join(exc.suggestions))
            if exc.suggestions
            else t("views.episodes_hint", locale)
        )
        raise UserError("error.no_views_match", query=exc.query[:40], hint=hint) from None
    source = footer(inv, t("common.views_source", locale), None)
    if found.found == "episodes":
        return Card(
            title=t("views.episodes_title", locale),
            fields=tuple(_episode_field(e, inv, locale) for e in found.episodes[:MAX_EPISODES]),
            text=t("views.episodes_hint", locale) if found.episodes else t("views.none", locale),
            footer=source,
        )
    title, intro = _heading(found, locale)
    shown = found.views[:MAX_VIEWS]
    fields = tuple(_view_field(view, found, locale) for view in shown)
    notes = [intro] if intro else []
    if not found.views:
        notes.append(t("views.none", locale))
    if len(found.views) > MAX_VIEWS:
        notes.append(t("views.more", locale, count=len(found.views) - MAX_VIEWS))
    return Card(title=title, fields=fields, text="\n\n".join(notes), footer=source)


def _heading(found: ViewSearch, locale: Locale) -> tuple[str, str]:
    """The card's title and the line under it."""
    if found.found == "episode":
        episode = found.episodes[0]
        title = t(
            "views.episode_title",
            locale,
            name=episode.name(locale),
            date=episode.first_session.isoformat(),
        )
        intro = episode.headline(locale)
        if episode.note(locale):
            intro += "\n" + episode.note(locale)
        return title, intro
    if found.found == "topic" and found.topic:
        return t("views.title_topic", locale, topic=t(f"topic.{found.topic}", locale)), ""
    return t("views.speaker_title", locale, speaker=found.speaker or ""), ""


def _episode_field(episode: Episode, inv: Invocation, locale: Locale) -> CardField:
    """One episode in the list: name, dates, direction, headline, how many views, tags."""
    count = len(library_of(inv.services.views).of_episode(episode))
    direction = t(f"views.direction_{episode.direction}", locale)
    name = f"{episode.name(locale)} · {episode.first_session.isoformat()} ({direction})"
    tags = ", ".join(t(f"topic.{tag}", locale) for tag in episode.tags)
    value = f"{episode.headline(locale)}\n{t('views.episode_meta', locale, count=count, tags=tags)}"
    value += f"\n/views {episode.id}"
    return CardField(name, value, inline=False)


def _view_field(view: ExpertView, found: ViewSearch, locale: Locale) -> CardField:
    """One view: speaker · stance · date (and its episode, outside an episode's own list)."""
    parts = [view.speaker_name(locale), t("stance." + view.stance, locale)]
    if view.date_given:  # only where the source dates it
        parts.append(format_date(view.date, locale))
    if found.found != "episode" and view.episode is not None:
        parts.append(f"{view.episode.name(locale)} {view.episode.first_session.isoformat()}")
    attribution = attribution_text(view, locale)
    room = FIELD_ROOM - len(attribution) - 1
    summary = view.summary(locale)
    if len(summary) > room:
        summary = summary[: max(room - 1, 0)].rstrip() + "…"
    return CardField(" · ".join(parts), f"{summary}\n{attribution}", inline=False)
