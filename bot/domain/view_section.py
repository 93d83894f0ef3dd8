"""The views section and "what followed the episode" of a card (``/shock``, alerts, digests).

``explain_session`` decides what a card about a session says of the past: its own episode's
views, or the closest earlier episode by price signature with its views and what chips did
after it, or that no past episode looks like the move. ``views_text`` and
``chips_after_text`` render it in the card's language within the card-layout contract
(views ≤ 2 × 600 characters, what followed ≤ 4 lines).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.i18n import Locale, format_date, format_number, format_pct, t
from bot.domain.library import CardViews, ViewLibrary, ViewMatch, card_views
from bot.domain.price_metrics import FORWARD_HORIZONS
from bot.domain.signature import Closest, Signature, SignatureBook
from bot.domain.views import ExpertView

VIEW_ROOM = 600
"""Characters per view on a card (the contract: views ≤ 2 × 600)."""
FigureLine = Callable[[ExpertView], str]


@dataclass(frozen=True)
class SessionPast:
    """What a card about one session says of past episodes."""

    session: date
    views: CardViews | None
    closest: Closest | None = None
    """For a session outside every episode: the nearest earlier one (alike or not)."""
    chips_after: Mapping[int, float | None] = field(default_factory=dict)
    chips_label: str = "SOX"

    @property
    def episode_id(self) -> str | None:
        """The episode the card speaks of (own or closest alike), if any."""
        return self.views.episode.id if self.views else None


def explain_session(
    library: ViewLibrary,
    book: SignatureBook,
    *,
    session: date,
    days: Collection[date] = (),
    signature: Signature | None = None,
    kinds: Collection[str] = (),
    topics: Collection[str] = (),
    symbols: Sequence[str] = (),
) -> SessionPast:
    """The own episode's views, else the closest earlier episode's (within the distance
    limit) and what chips did after it by ``session``, else nothing alike."""
    if library.own_episode({session, *days}) is not None:
        own = card_views(
            library, session=session, days=days, kinds=kinds, topics=topics, symbols=symbols
        )
        return SessionPast(session, own)
    closest = book.closest(signature, session) if signature else None
    if closest is None or not closest.alike:
        return SessionPast(session, None, closest)
    views = card_views(
        library,
        session=session,
        closest=closest.episode,
        distance=closest.distance,
        kinds=kinds,
        topics=topics,
        symbols=symbols,
    )
    after = book.chips_after(closest.episode, session)
    return SessionPast(session, views, closest, after, book.settings.chips)


def views_text(past: SessionPast, locale: Locale, figures: FigureLine | None = None) -> str:
    """The views section: which episode, one bullish and one bearish view (each ≤ 600
    characters, dated and attributed), the side missing — or why there is none."""
    views = past.views
    if views is None:
        closest = past.closest
        if closest is None:
            return t("episode.none_earlier", locale)
        return t(
            "episode.none_alike",
            locale,
            name=closest.episode.name(locale),
            date=closest.episode.first_session.isoformat(),
            distance=format_number(closest.distance, locale, decimals=1),
            limit=format_number(past_limit(past), locale, decimals=1),
        )
    episode = views.episode
    if views.own:
        head = t(
            "episode.own",
            locale,
            name=episode.name(locale),
            first=episode.first_session.isoformat(),
            through=episode.through.isoformat(),
            headline=episode.headline(locale),
        )
    else:
        head = t(
            "episode.closest",
            locale,
            name=episode.name(locale),
            date=episode.first_session.isoformat(),
            distance=format_number(views.distance or 0.0, locale, decimals=1),
        )
    blocks = [head]
    blocks += [view_block(match, locale, figures) for match in views.chosen]
    if not views.chosen:
        blocks.append(t("shock_card.no_fitting_views", locale))
    for side in views.missing:
        blocks.append(t("episode.missing_side", locale, side=t(f"side.{side}", locale)))
    if views.missing and episode.note(locale):
        blocks[-1] += " " + episode.note(locale)
    return "\n\n".join(blocks)


def past_limit(past: SessionPast) -> float:
    """The distance limit the closest episode was judged against."""
    return past.closest.limit if past.closest else 0.0


def view_block(match: ViewMatch, locale: Locale, figures: FigureLine | None = None) -> str:
    """One view: speaker, stance (and what it was said about), summary, the project's own
    figures for what it quotes, and the attribution with its flags — at most 600 characters
    (the summary is shortened first)."""
    view = match.view
    stance = t(f"stance.{view.stance}", locale)
    context = match.context(locale)
    said = (
        t("views.said_on", locale, date=format_date(view.date, locale))
        if view.date_given
        else t("views.undated", locale)
    )
    attribution = attribution_text(view, locale)
    own_figures = figures(view) if figures else ""
    tail = (f"\n{own_figures}" if own_figures else "") + f"\n{attribution}"
    if locale == "ko":
        label = f"[{stance}; {context}]" if context else f"[{stance}] ({said})"
        head = f"{view.speaker_name(locale)} {label} "
    else:
        label = f"({stance}; {context})" if context else f"({stance}) · {said}"
        head = f"{view.speaker} {label} — "
    room = VIEW_ROOM - len(head) - len(tail)
    summary = view.summary(locale)
    if len(summary) > room:
        summary = summary[: max(room - 1, 0)].rstrip() + "…"
    return (head + summary + tail)[:VIEW_ROOM]


def attribution_text(view: ExpertView, locale: Locale) -> str:
    """`— who, where, when (reported, not confirmed, excerpt only, originally …)` and the
    source URL on its own line: the pack's flags, said on every card that shows the view."""
    flags = [t("views.reported", locale)] if view.reported else []
    if view.excerpt_only:
        flags.append(t("views.excerpt_only", locale))
    if view.original_outlet:
        flags.append(t("views.original_outlet", locale, outlet=view.original_outlet))
    attribution = "— " + view.attribution(locale)
    if flags:
        attribution += f" ({', '.join(flags)})"
    if view.url:
        attribution += f"\n{view.url}"
    return attribution


def chips_after_text(past: SessionPast, locale: Locale) -> str | None:
    """What chips did 1, 5 and 20 sessions after the closest episode (None when the card
    speaks of no earlier episode); a horizon not ended by the card's session is said so."""
    views = past.views
    if views is None or views.own:
        return None
    parts = []
    for horizon in FORWARD_HORIZONS:
        value = past.chips_after.get(horizon)
        moved = format_pct(value, locale) if value is not None else t("episode.not_yet", locale)
        key = "alert.after_one" if horizon == 1 else "alert.after_sessions"
        parts.append(t(key, locale, n=horizon, move=moved))
    return t(
        "episode.chips_after",
        locale,
        chips=past.chips_label,
        name=views.episode.name(locale),
        date=views.episode.first_session.isoformat(),
        moves=" · ".join(parts),
    )


def past_payload(past: SessionPast) -> dict[str, object]:
    """The language-neutral part of ``past`` an alert event stores at claim time: the
    closest earlier episode (alike or not) and what chips did after it by the session."""
    closest = past.closest
    if closest is None:
        return {}
    return {
        "episode": closest.episode.id,
        "distance": round(closest.distance, 4),
        "alike": closest.alike,
        "limit": closest.limit,
        "chips": past.chips_label,
        "chips_after": {str(h): v for h, v in past.chips_after.items()},
    }


def past_from_payload(
    library: ViewLibrary,
    stored: Mapping[str, object] | None,
    *,
    session: date,
    kinds: Collection[str] = (),
    topics: Collection[str] = (),
    symbols: Sequence[str] = (),
) -> SessionPast | None:
    """``past_payload`` read back for a card: the own episode's views (decided now, from the
    session), else the stored closest episode's; None for an event stored before episodes
    (it shows no view from another episode)."""
    if library.own_episode({session}) is not None:
        own = card_views(library, session=session, kinds=kinds, topics=topics, symbols=symbols)
        return SessionPast(session, own)
    if stored is None:
        return None
    episode = library.episode(str(stored.get("episode", "")))
    if episode is None:
        return SessionPast(session, None)
    raw_distance = stored.get("distance")
    distance = float(raw_distance) if isinstance(raw_distance, int | float) else 0.0
    raw_limit = stored.get("limit")
    limit = float(raw_limit) if isinstance(raw_limit, int | float) else 0.0
    closest = Closest(episode, distance, bool(stored.get("alike")), limit)
    if not closest.alike:
        return SessionPast(session, None, closest)
    raw_after = stored.get("chips_after")
    after: dict[int, float | None] = {}
    if isinstance(raw_after, Mapping):
        for key, value in raw_after.items():
            after[int(key)] = float(value) if isinstance(value, int | float) else None
    views = card_views(
        library,
        session=session,
        closest=episode,
        distance=distance,
        kinds=kinds,
        topics=topics,
        symbols=symbols,
    )
    return SessionPast(session, views, closest, after, str(stored.get("chips", "SOX")))
