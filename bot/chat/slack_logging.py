"""Keep Slack secrets out of every log line, at every level.

slack_sdk logs request and response bodies at debug level: OAuth access tokens, client
secrets, `response_url`s. `install_redaction(secrets)` wraps the log record factory once per
process, so every record (any logger, any handler, also ones added later) is redacted
before it is formatted.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

_PATTERNS = (
    re.compile(r"xox[a-z]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"https?://[^\s'\"]*/(?:commands|actions|hooks)/[^\s'\"]+"),
    re.compile(r"(?<=[?&])(code|state|client_secret)=[^&\s'\"]+"),
    re.compile(r"(?<=['\"])(client_secret|code|refresh_token|access_token)(['\"]:\s*['\"])[^'\"]+"),
)
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """`text` with tokens, secrets, response URLs and OAuth codes replaced by `***`."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    text = _PATTERNS[0].sub("xox?-***", text)
    text = _PATTERNS[1].sub("xapp-***", text)
    text = _PATTERNS[2].sub("<response_url ***>", text)
    text = _PATTERNS[3].sub(lambda m: f"{m.group(1)}=***", text)
    return _PATTERNS[4].sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def install_redaction(secrets: tuple[str, ...] = ()) -> None:
    """Redact every log record of this process; `secrets` are exact values to hide too."""
    global _installed
    _secrets.update(s for s in secrets if len(s) >= 6)
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print a preset exc_text instead of formatting exc_info again; one
            # that formats exc_info itself must redact (bot/logging_setup.py does).
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)
