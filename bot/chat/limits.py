"""Platform-neutral trimming helpers: keep text and lists within a platform's limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
ELLIPSIS = "…"


def trim(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut to at most `limit` characters, ending in `ellipsis` when cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return text[:limit]
    return text[: limit - len(ellipsis)].rstrip() + ellipsis


def trim_lines(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Like `trim`, but cuts at a line break where one is close enough to the limit."""
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis) - 1
    cut = text.rfind("\n", 0, room)
    if cut >= room // 2:
        return text[:cut] + "\n" + ellipsis
    return trim(text, limit, ellipsis)


def take(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    kept = list(items[: max(limit, 0)])
    return kept, len(items) - len(kept)
