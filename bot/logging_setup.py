"""Structured logs (key=value or JSON, by `[logging] format`) that never carry a secret.

Every line goes through one formatter that replaces the values of secret environment
variables (any name with TOKEN, SECRET, PASSWORD or KEY) and anything shaped like a token
(Slack `xox?-…`/`xapp-…`, a Discord bot token, a Slack `response_url` or webhook, a
password in a URL) with `[redacted]` — including what discord.py, slack_sdk and yfinance
log at debug level.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO

REDACTED = "[redacted]"
_SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|API_?KEY|PRIVATE", re.IGNORECASE)
_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{8,}"),  # Slack bot/user/app-level tokens
    re.compile(r"xapp-[A-Za-z0-9-]{8,}"),
    re.compile(r"[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}"),  # Discord
    re.compile(r"https://hooks\.slack(?:-gov)?\.com/[^\s'\"]+"),  # response_url / webhooks
    re.compile(r"(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"),  # user:password@ in URLs
    re.compile(r"(?i)(?<=[\"']token[\"']: [\"'])[^\"']+"),  # {"token": "..."} in payloads
    re.compile(r"(?i)(?<=interactions/)(\d+)/[A-Za-z0-9_.-]{20,}"),  # interaction tokens
    re.compile(r"(?i)(?<=webhooks/)(\d+)/[A-Za-z0-9_.-]{20,}"),
    re.compile(r"(?i)(?<=Bearer )[A-Za-z0-9._-]{8,}"),
    re.compile(r"(?i)(?<=Bot )[A-Za-z0-9._-]{20,}"),
)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of environment variables whose names say they are secrets."""
    return sorted(
        (v for k, v in env.items() if _SECRET_NAMES.search(k) and len(v) >= 6),
        key=len,
        reverse=True,
    )


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value and token-shaped string replaced."""
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class StructuredFormatter(logging.Formatter):
    """One line per record: `ts=… level=… logger=… msg="…"` (or a JSON object), redacted."""

    def __init__(self, style: str = "keyvalue", secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.json = style == "json"
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = {
            "ts": stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
        }
        if self.json:
            line = json.dumps(fields, ensure_ascii=False)
        else:
            quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            line = f'ts={stamp} level={fields["level"]} logger={record.name} msg="{quoted}"'
        return redact(line, self.secrets)


def configure_logging(
    *,
    level: str = "info",
    style: str = "keyvalue",
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every logger (ours and the libraries') through one redacting handler."""
    import os

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(StructuredFormatter(style, secret_values(env or dict(os.environ))))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return handler
