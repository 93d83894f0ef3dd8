"""What Slack refuses and how it answers, as the fake plays it: the methods it knows, the
scripted failures, Block Kit and message metadata limits, history cursors.

Block Kit: at most 50 blocks; a section's text at most 3,000 characters and at most 10
fields of 2,000; a header's text plain_text of at most 150; a context at most 10
elements; every text object non-empty and of type plain_text or mrkdwn; a block_id at most
255. The top-level text at most 40,000 (`msg_too_long`); neither text nor blocks is
`no_text`. Metadata: an object with a string `event_type` (letters, digits, `_`, `.`, `-`;
at most 255) and an object `event_payload`. History pages by opaque cursors.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

KNOWN_METHODS = frozenset(
    {
        "auth.test",
        "users.info",
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "apps.connections.open",
        "oauth.v2.access",
        "oauth.access",
    }
)
"""The Web API methods the fake plays; any other answers `unknown_method`."""


@dataclass(frozen=True)
class Failure:
    """One scripted answer: an `error` (HTTP `status`), optionally `Retry-After`, or a hang."""

    error: str = "internal_error"
    status: int = 200
    retry_after: int | str | None = None
    hang: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


MAX_BLOCKS = 50
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
BLOCK_ID = 255
MESSAGE_TEXT = 40_000
KNOWN_BLOCKS = frozenset(
    {"section", "header", "context", "divider", "image", "actions", "rich_text", "file", "video"}
)
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


def _text_problems(where: str, obj: Any, limit: int, kinds: tuple[str, ...]) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"{where} must be a text object of type {' or '.join(kinds)}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}.text must be at least 1 character"]
    if len(text) > limit:
        return [f"{where}.text must be less than {limit + 1} characters"]
    return []


def block_problems(blocks: Any) -> list[str]:
    """Why Slack would answer `invalid_blocks` (empty: the blocks are valid)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    found = [f"must be at most {MAX_BLOCKS} blocks"] if len(blocks) > MAX_BLOCKS else []
    for index, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in KNOWN_BLOCKS:
            found.append(f"{where}/type] unsupported type {kind!r}")
            continue
        if len(str(block.get("block_id", ""))) > BLOCK_ID:
            found.append(f"{where}/block_id] must be at most {BLOCK_ID} characters")
        if kind == "header":
            found += _text_problems(
                f"{where}/text]", block.get("text"), HEADER_TEXT, ("plain_text",)
            )
        elif kind == "section":
            fields = block.get("fields") or []
            if "text" not in block and not fields:
                found.append(f"{where}] a section needs text or fields")
            if "text" in block:
                found += _text_problems(
                    f"{where}/text]", block["text"], SECTION_TEXT, ("plain_text", "mrkdwn")
                )
            if len(fields) > SECTION_FIELDS:
                found.append(f"{where}/fields] must be at most {SECTION_FIELDS} items")
            for number, field in enumerate(fields):
                found += _text_problems(
                    f"{where}/fields/{number}]", field, FIELD_TEXT, ("plain_text", "mrkdwn")
                )
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= CONTEXT_ELEMENTS:
                found.append(f"{where}/elements] must be 1 to {CONTEXT_ELEMENTS} items")
    return found


def message_problem(args: dict[str, Any]) -> str | None:
    """The error code Slack would answer a post or update with, or None."""
    text = args.get("text") or ""
    if not text and not args.get("blocks") and not args.get("attachments"):
        return "no_text"
    if len(text) > MESSAGE_TEXT:
        return "msg_too_long"
    if args.get("blocks") is not None and block_problems(args["blocks"]):
        return "invalid_blocks"
    if "metadata" in args:
        return metadata_problem(args["metadata"])
    return None


def metadata_problem(metadata: Any) -> str | None:
    """`invalid_metadata_format` or `invalid_metadata_schema`, or None."""
    if not isinstance(metadata, dict):
        return "invalid_metadata_format"
    event_type = metadata.get("event_type")
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        return "invalid_metadata_schema"
    if not isinstance(metadata.get("event_payload"), dict):
        return "invalid_metadata_schema"
    return None


def cursor(offset: int) -> str:
    """An opaque `next_cursor` for the page starting at `offset`."""
    return base64.b64encode(f"next:{offset}".encode()).decode()


def cursor_offset(cursor: str) -> int:
    """The offset an opaque cursor stands for (0 for none); ValueError for a foreign one."""
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise ValueError(cursor) from None
    if kind != "next" or not offset.isdigit():
        raise ValueError(cursor)
    return int(offset)
