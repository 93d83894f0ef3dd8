"""One redactor for every log line: Discord and Slack secrets, URL passwords, env secrets.

Platform-neutral (imports neither discord nor slack_bolt). `redact` replaces every
registered secret value and anything token-shaped with `REDACTED`:

- Discord: bot tokens, `Bot …`/`Bearer …` headers, `/webhooks/{id}/{token}` and
  `/interactions/{id}/{token}` URLs, `"token"` fields of gateway payloads;
- Slack: `xoxb-`/`xoxp-`/`xapp-`/`xoxe-` (and other `xox?-`) tokens, client and signing
  secrets, OAuth `code=`/`state=`, `response_url`s and `hooks.slack.com` URLs;
- passwords in URLs (`redis://:pw@host`) and the values of secret environment variables.

`install_redaction` wraps the log record factory once per process, so every record (any
logger, any handler, also ones added later) is redacted before it is formatted; the chat
adapters call it with their own literal secrets.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET = 6
_SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|API_?KEY|PRIVATE", re.IGNORECASE)
_FIELDS = r"token|access_token|refresh_token|bot_token|client_secret|signing_secret|code"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: xoxb- bot, xoxp- user, xoxe- refresh (and xoxe.xoxb- rotating), xapp- app
    (re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), REDACTED),
    # Discord bot token: base64 id . timestamp . hmac
    (re.compile(r"[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,40}"), REDACTED),
    # Discord webhook and interaction URLs carry the interaction token
    (re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_\-.]+"), r"\1" + REDACTED),
    (re.compile(r"(/interactions/\d+/)[A-Za-z0-9_\-.]+"), r"\1" + REDACTED),
    # Slack response_urls and webhooks (hooks.slack.com, or any …/commands|actions|hooks/…)
    (re.compile(r"https://hooks\.slack(?:-gov)?\.com/[^\s'\"]+"), REDACTED),
    (re.compile(r"https?://[^\s'\"]*/(?:commands|actions|hooks)/[^\s'\"]+"), REDACTED),
    # "token": "…" in JSON, 'client_secret': '…' in dict reprs, …
    (re.compile(rf"""(["'](?:{_FIELDS})["']\s*:\s*["'])[^"']+"""), r"\1" + REDACTED),
    # OAuth code=, state=, client_secret= in query strings and form bodies
    (
        re.compile(
            r"(?<![\w.-])(code|state|client_secret|signing_secret|refresh_token)=[^&\s'\"]+"
        ),
        r"\1=" + REDACTED,
    ),
    # an Authorization header
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9_\-.]{8,}"), r"\1" + REDACTED),
    (re.compile(r"\b(Bot\s+)[A-Za-z0-9_\-.]{20,}"), r"\1" + REDACTED),
    # user:password@ in URLs
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+(?=@)"), r"\1" + REDACTED),
)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of environment variables whose names say they are secrets."""
    return sorted(
        (v for k, v in env.items() if _SECRET_NAMES.search(k) and len(v) >= MIN_SECRET),
        key=len,
        reverse=True,
    )


_registered: set[str] = set()


def register_secrets(secrets: Iterable[str]) -> None:
    """Also redact these exact values (6 characters or more) from now on, process-wide."""
    _registered.update(s for s in secrets if s and len(s) >= MIN_SECRET)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every registered or given secret value and token-shaped string replaced."""
    values = _registered.union(s for s in secrets if s and len(s) >= MIN_SECRET)
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_installed = False


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Redact every log record of the process from now on (idempotent; adds `secrets`)."""
    global _installed
    register_secrets(secrets)
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print a preset exc_text instead of formatting exc_info again.
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)
