"""Discord's limits on what a message may carry, as the fake enforces them.

`problems(body)` lists what Discord would refuse (400, code 50035 "Invalid Form Body"):
content over 2,000 characters, more than 10 embeds, an embed title over 256, a description
over 4,096, more than 25 fields, a field name over 256 or value over 1,024 (or empty), a
footer over 2,048, an author name over 256, all embeds together over 6,000 characters, a
nonce over 25 characters. An empty message is code 50006.
"""

from __future__ import annotations

from typing import Any

CONTENT = 2000
EMBEDS = 10
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000
NONCE = 25


def _too_long(errors: dict[str, Any], key: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors[key] = {
            "_errors": [
                {
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": f"Must be {limit} or fewer in length.",
                }
            ]
        }


def _embed_problems(embed: dict[str, Any], prefix: str, errors: dict[str, Any]) -> int:
    """Check one embed; the characters it counts towards the 6,000 total."""
    title = embed.get("title") or ""
    description = embed.get("description") or ""
    footer = (embed.get("footer") or {}).get("text") or ""
    author = (embed.get("author") or {}).get("name") or ""
    _too_long(errors, f"{prefix}.title", title, TITLE)
    _too_long(errors, f"{prefix}.description", description, DESCRIPTION)
    _too_long(errors, f"{prefix}.footer.text", footer, FOOTER)
    _too_long(errors, f"{prefix}.author.name", author, AUTHOR)
    fields = embed.get("fields") or []
    if len(fields) > FIELDS:
        errors[f"{prefix}.fields"] = {
            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer."}]
        }
    total = len(title) + len(description) + len(footer) + len(author)
    for index, field in enumerate(fields):
        name, value = str(field.get("name") or ""), str(field.get("value") or "")
        for key, text, limit in (("name", name, FIELD_NAME), ("value", value, FIELD_VALUE)):
            where = f"{prefix}.fields.{index}.{key}"
            if not text:
                errors[where] = {
                    "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]
                }
            _too_long(errors, where, text, limit)
        total += len(name) + len(value)
    return total


def problems(body: dict[str, Any], *, files: int = 0) -> tuple[int, dict[str, Any]] | None:
    """(code, errors) Discord would answer with a 400, or None when the message is valid."""
    errors: dict[str, Any] = {}
    content = body.get("content") or ""
    _too_long(errors, "content", content, CONTENT)
    nonce = body.get("nonce")
    if nonce is not None:
        _too_long(errors, "nonce", str(nonce), NONCE)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS:
        errors["embeds"] = {
            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer."}]
        }
    total = sum(_embed_problems(e, f"embeds.{i}", errors) for i, e in enumerate(embeds))
    if total > EMBED_TOTAL:
        errors["embeds"] = {
            "_errors": [
                {
                    "code": "MAX_EMBED_SIZE_EXCEEDED",
                    "message": "Embed size exceeds maximum size of 6000",
                }
            ]
        }
    if errors:
        return 50035, errors
    has_parts = content or embeds or files or body.get("components") or body.get("sticker_ids")
    if not has_parts and not body.get("attachments"):
        return 50006, {}
    return None
