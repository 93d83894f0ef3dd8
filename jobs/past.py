"""What an alert or a digest stores of the past at claim time: the closest earlier episode to
the moves at a print (language-neutral; the card picks the views when it is built)."""

from __future__ import annotations

from typing import Any

from bot.domain.library import library_of
from bot.domain.signature import signature_book
from bot.domain.snapshot import Snapshot
from bot.domain.view_section import SessionPast, past_payload
from bot.services import Services


def past_at_print(services: Services, snapshot: Snapshot) -> dict[str, Any]:
    """The closest earlier episode to the moves at this print (its views are chosen when the
    card is built), stored language-neutral with the event; {} when none is comparable."""
    library = library_of(services.views)
    config = services.core.settings.episodes.model_dump()
    book = signature_book(library, services.core.market, config)
    session = snapshot.session.date()
    closest = book.closest(book.snapshot_signature(snapshot), session)
    if closest is None:
        return {}
    after = book.chips_after(closest.episode, session) if closest.alike else {}
    return past_payload(SessionPast(session, None, closest, after, book.settings.chips))
