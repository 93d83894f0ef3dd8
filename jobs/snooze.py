"""Snoozes that end: the alerts a channel's snooze held go out as one summary message (or are
dropped, as the channel chose), once — from the every-minute job or from `/snooze off`."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from bot.domain.model import ChannelRef, stamp
from bot.services import Services

log = logging.getLogger(__name__)

SUMMARY_KEY = "snooze_summary"
"""A notice payload's key holding a summary: `{"alert_ids": [...], "ended": ISO time}`."""


async def release_snooze(services: Services, ref: ChannelRef, now: datetime) -> int:
    """End a channel's snooze now; queue one summary of what it held unless the channel chose
    to drop it. How many alerts the summary carries (0: nothing queued)."""
    store = services.store
    snooze, held = await store.end_snooze(ref)
    if snooze is None or not held:
        return 0
    if snooze.drop:
        log.info("snooze ended channel=%s dropped=%d", ref.key, len(held))
        return 0
    payload = {SUMMARY_KEY: {"alert_ids": held, "ended": now.isoformat()}}
    key = f"snooze:{ref.key}:{stamp(now)}"
    await store.enqueue_message("notice", ref, payload, key, rule_id="snooze")
    log.info("snooze ended channel=%s summary_alerts=%d", ref.key, len(held))
    return len(held)


async def release_ended_snoozes(
    services: Services, now: datetime, *, platforms: Collection[str] | None = None
) -> int:
    """Release every snooze that ended by `now` (the scheduler runs this each minute); only of
    channels on `platforms` when given (a replay: its sinks' only). How many were released."""
    released = 0
    for ref in await services.store.ended_snoozes(now):
        if platforms is not None and ref.platform not in platforms:
            continue
        channel = await services.store.get_channel(ref)
        if channel is None or channel.snoozed(now):  # extended meanwhile: not yet
            continue
        released += 1
        await release_snooze(services, ref, now)
    return released
