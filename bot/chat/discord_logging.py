"""No Discord secret in any log line, at any level.

discord.py's debug log prints request URLs (`/webhooks/{app}/{token}`, `/interactions/
{id}/{token}/callback`) and whole gateway events (an interaction's `"token"`). A record
factory rewrites every record's message (and its traceback text) before any handler sees
it, whatever logger or level it came from.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
_PATTERNS = (
    # webhook and interaction URLs carry the interaction token
    (re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_\-.]+"), r"\1" + REDACTED),
    (re.compile(r"(/interactions/\d+/)[A-Za-z0-9_\-.]+"), r"\1" + REDACTED),
    # "token": "..." in JSON and 'token': '...' in dict reprs
    (re.compile(r"""(["']token["']\s*:\s*["'])[^"']+(["'])"""), r"\1" + REDACTED + r"\2"),
    # an Authorization header
    (re.compile(r"(Bot|Bearer)\s+[A-Za-z0-9_\-.]{20,}"), r"\1 " + REDACTED),
    # anything shaped like a bot token: base64 id . timestamp . hmac
    (re.compile(r"[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,40}"), REDACTED),
)


class Redactor:
    """Replaces the known secrets and token-shaped text with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = {s for s in secrets if s and len(s) >= 6}

    def add(self, secret: str) -> None:
        """Also redact `secret` from now on."""
        if secret and len(secret) >= 6:
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


_installed: Redactor | None = None


def install_redaction(secrets: Iterable[str] = ()) -> Redactor:
    """Redact every log record of the process from now on (idempotent; adds `secrets`)."""
    global _installed
    if _installed is not None:
        for secret in secrets:
            _installed.add(secret)
        return _installed
    redactor = Redactor(secrets)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redactor(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redactor(text)
        return record

    logging.setLogRecordFactory(factory)
    _installed = redactor
    return redactor
