"""`python -m bot outbox [--json]`: pending and parked deliveries (alerts, digests, notices).

Shows kind, platform, due time, attempts and last error. Which platforms have a worker with
a sink running is not knowable here, so every item shows its platform: items for a platform
no worker serves stay pending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bot.app import bootstrap
from bot.domain.model import OutboxItem, redact_url
from bot.settings import load_settings
from bot.stores import StoreUnavailable

EXIT_STORE_UNAVAILABLE = 2


def register(subparsers: Any) -> None:
    """Add the `outbox` command."""
    parser = subparsers.add_parser(
        "outbox", help="show pending and parked alert deliveries", description=__doc__
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


async def _items(url: str) -> list[OutboxItem]:
    # An existing store only: run from the wrong directory, a relative SQLite URL must not
    # create (and report) an empty outbox.
    app = await bootstrap(load_settings(), store_url=url, create=False)
    try:
        return await app.store.list_outbox()
    finally:
        await app.close()


def _due(item: OutboxItem) -> str:
    return datetime.fromtimestamp(item.due_at, UTC).isoformat(timespec="seconds")


def _as_dict(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "state": item.state,
        "platform": item.channel.platform,
        "channel": item.channel.key,
        "due": _due(item),
        "attempts": item.attempts,
        "last_error": item.last_error,
        "rule_id": item.rule_id,
        "alert_ids": list(item.alert_ids),
        "print_id": item.print_id,
        "expires_at": item.expires_at.isoformat() if item.expires_at else None,
        "idempotency_key": item.idempotency_key,
    }


def run(args: argparse.Namespace) -> int:
    """List the outbox of the configured store."""
    url = load_settings().store_url
    try:
        items = asyncio.run(_items(url))
    except StoreUnavailable as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_STORE_UNAVAILABLE
    if args.json:
        print(json.dumps([_as_dict(item) for item in items], ensure_ascii=False, indent=2))
        return 0
    pending = sum(item.state == "pending" for item in items)
    print(f"outbox of {redact_url(url)}: {pending} pending, {len(items) - pending} parked")
    platforms = sorted({item.channel.platform for item in items if item.state == "pending"})
    if platforms:
        # Which platforms have a running worker is not knowable here: show them all.
        print(f"pending for platforms: {', '.join(platforms)} (each needs a worker with its sink)")
    for item in items:
        error = f"  last error: {item.last_error}" if item.last_error else ""
        print(
            f"{item.state:8} {item.kind:6} {item.id:>24}  {item.channel.platform:8}"
            f" due {_due(item)}  attempts={item.attempts}  {item.channel.key}"
            f"  {item.rule_id}{error}"
        )
    return 0
