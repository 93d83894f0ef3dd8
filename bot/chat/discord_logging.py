"""No Discord secret in any log line, at any level.

discord.py's debug log prints request URLs (`/webhooks/{app}/{token}`, `/interactions/
{id}/{token}/callback`) and whole gateway events (an interaction's `"token"`). The record
factory of bot/redaction.py rewrites every record's message (and its traceback text)
before any handler sees it; this adds the bot token as a literal secret.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot import redaction


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Redact every log record of the process from now on (idempotent; adds `secrets`)."""
    redaction.install_redaction(secrets)
