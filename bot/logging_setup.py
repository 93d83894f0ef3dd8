"""Structured logs (key=value or JSON, by `[logging] format`) that never carry a secret.

Every line goes through one formatter that redacts it with bot/redaction.py: the values of
secret environment variables (any name with TOKEN, SECRET, PASSWORD or KEY, registered at
start) and anything shaped like a Discord or Slack secret become `[redacted]` — including
what discord.py, slack_sdk and yfinance log at debug level.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO

from bot.redaction import REDACTED, redact, register_secrets, secret_values

__all__ = ["REDACTED", "StructuredFormatter", "configure_logging", "redact", "secret_values"]


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

    secrets = secret_values(env or dict(os.environ))
    register_secrets(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(StructuredFormatter(style, secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return handler
