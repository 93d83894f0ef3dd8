"""Keep Slack secrets out of every log line, at every level.

slack_sdk logs request and response bodies at debug level: OAuth access tokens, client
secrets, `response_url`s. The record factory of bot/redaction.py redacts every record
before it is formatted; this adds the configured Slack secrets as literal values.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot import redaction
from bot.redaction import redact

__all__ = ["install_redaction", "redact"]


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Redact every log record of this process; `secrets` are exact values to hide too."""
    redaction.install_redaction(secrets)
