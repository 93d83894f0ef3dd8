"""Language-neutral JSON of stored alert events (versioned), shared by both stores."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from bot.domain.model import AlertEvent

EVENT_VERSION = 2
"""`{"v": 2, ...}`; documents without `v` are version 1 (no print id, kind or expiry)."""


def unstamp(text: str | None) -> datetime | None:
    """Inverse of `stamp` (None or empty → None)."""
    return datetime.fromisoformat(text) if text else None


def earliest(moments: list[datetime | None]) -> datetime | None:
    """The earliest of the moments that are set, or None."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def event_doc(event: AlertEvent) -> dict[str, Any]:
    """The event as a version-2 JSON document."""
    return {
        "v": EVENT_VERSION,
        "rule_id": event.rule_id,
        "session": event.session.isoformat(),
        "severity_rank": event.severity_rank,
        "severity": event.severity,
        "fired_at": event.fired_at.isoformat(),
        "payload": dict(event.payload),
        "print_id": event.print_id,
        "print_kind": event.print_kind,
        "expires_at": event.expires_at.isoformat() if event.expires_at else None,
    }


def event_json(event: AlertEvent) -> str:
    """`event_doc` as compact JSON text."""
    return json.dumps(event_doc(event), separators=(",", ":"), ensure_ascii=False)


def event_from_doc(data: dict[str, Any]) -> AlertEvent:
    """Read a version-1 or version-2 document (ValueError for a newer or broken one)."""
    version = data.get("v", 1)
    if version > EVENT_VERSION:
        raise ValueError(f"alert event version {version} is newer than this program")
    try:
        return AlertEvent(
            rule_id=data["rule_id"],
            session=date.fromisoformat(data["session"]),
            severity_rank=int(data["severity_rank"]),
            severity=data["severity"],
            fired_at=datetime.fromisoformat(data["fired_at"]),
            payload=data.get("payload") or {},
            print_id=data.get("print_id", ""),
            print_kind=data.get("print_kind", "close"),
            expires_at=unstamp(data.get("expires_at")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"unreadable alert event: {exc!r}") from None


def event_from_json(text: str) -> AlertEvent:
    """Inverse of `event_json` (also reads version 1)."""
    return event_from_doc(json.loads(text))
