"""SQLite trigger state: one row per channel holding every rule's state (compact at fan-out).

The row's JSON maps each distinct state text to the rules in that state: the rules a print
fired for a channel usually share one state, so it is stored once.
"""

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
        found.update((ckey, decode_states(text)) for ckey, text in c.execute(sql, chunk))
    return found


def encode_states(rules: Mapping[str, str]) -> str:
    """`{state: [rule, ...]}` JSON for one channel's `{rule: state}`."""
    by_state: dict[str, list[str]] = {}
    for rule_id, state in sorted(rules.items()):
        by_state.setdefault(state, []).append(rule_id)
    return json.dumps(by_state, separators=(",", ":"), sort_keys=True)


def decode_states(text: str) -> States:
    """Inverse of `encode_states`."""
    return {rule: state for state, rules in json.loads(text).items() for rule in rules}


def save_states(c: sqlite3.Connection, states: Mapping[str, States]) -> None:
    """Write these channels' states (a channel with none left loses its row)."""
    c.executemany(
        "INSERT OR REPLACE INTO triggers VALUES (?,?)",
        [(ckey, encode_states(rules)) for ckey, rules in sorted(states.items()) if rules],
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
