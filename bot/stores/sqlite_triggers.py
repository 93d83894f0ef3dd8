"""SQLite trigger state: one row per channel holding every rule's state (compact at fan-out)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping

CHUNK = 400

States = dict[str, str]
"""rule id → `TriggerState.encode()` text, for one channel."""


def load_states(c: sqlite3.Connection, channel_keys: Iterable[str]) -> dict[str, States]:
    """The trigger states of these channels (channels without any are left out)."""
    keys = sorted(set(channel_keys))
    found: dict[str, States] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT channel_key, states FROM triggers WHERE channel_key IN ({marks})"
        found.update((ckey, json.loads(text)) for ckey, text in c.execute(sql, chunk))
    return found


def save_states(c: sqlite3.Connection, states: Mapping[str, States]) -> None:
    """Write these channels' states (a channel with none left loses its row)."""
    c.executemany(
        "INSERT OR REPLACE INTO triggers VALUES (?,?)",
        [
            (ckey, json.dumps(rules, separators=(",", ":"), sort_keys=True))
            for ckey, rules in sorted(states.items())
            if rules
        ],
    )
    c.executemany(
        "DELETE FROM triggers WHERE channel_key = ?",
        [(ckey,) for ckey, rules in states.items() if not rules],
    )


def forget_state(c: sqlite3.Connection, rule_id: str, channel_key: str) -> None:
    """A new or removed subscription starts from scratch (a fresh `once` fires again)."""
    states = load_states(c, [channel_key]).get(channel_key)
    if states is not None and rule_id in states:
        del states[rule_id]
        save_states(c, {channel_key: states})
