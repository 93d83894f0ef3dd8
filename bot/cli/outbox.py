"""`python -m bot outbox [--json]`: pending and parked deliveries, attempts and last error."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.settings import load_settings
from bot.stores import StoreUnavailable, open_store, redact_url
from bot.stores.port import OutboxItem

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
    store = await open_store(url, create=False)
    try:
        return await store.list_outbox()
    finally:
        await store.close()


def _as_dict(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "channel": item.channel.key,
        "rule_id": item.rule_id,
        "alert_id": item.alert_id,
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
    for item in items:
        error = f"  last error: {item.last_error}" if item.last_error else ""
        print(
            f"{item.state:8} {item.id:>18}  attempts={item.attempts}  {item.channel.key}"
            f"  {item.rule_id}{error}"
        )
    return 0
