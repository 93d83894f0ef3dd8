"""Slack settings (`[slack]` in config, secrets from the environment) and the Web API client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.settings.model import SLACK_BOT_SCOPES

Mode = Literal["socket", "http"]
DEFAULT_API_BASE = "https://slack.com/api/"
BOT_SCOPES = SLACK_BOT_SCOPES


@dataclass(frozen=True)
class SlackSecrets:
    """Tokens and secrets: from the environment only, never logged."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    client_id: str = ""
    client_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSecrets:
        """Read SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET and the OAuth pair."""
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            client_id=env.get("SLACK_CLIENT_ID", ""),
            client_secret=env.get("SLACK_CLIENT_SECRET", ""),
        )

    @property
    def oauth(self) -> bool:
        """True when the OAuth pair (multi-workspace install) is set."""
        return bool(self.client_id and self.client_secret)

    def values(self) -> tuple[str, ...]:
        """Every secret that is set (for the log redaction)."""
        return tuple(
            v
            for v in (
                self.bot_token,
                self.app_token,
                self.signing_secret,
                self.client_id,
                self.client_secret,
            )
            if v
        )

    def __repr__(self) -> str:
        return "SlackSecrets(***)"


@dataclass(frozen=True)
class SlackConfig:
    """The `[slack]` table with defaults."""

    mode: Mode = "socket"
    port: int = 3000
    api_base: str = DEFAULT_API_BASE
    admins: tuple[str, ...] = ()
    """User ids (`U123` or `T123:U123`) allowed to run admin commands besides workspace admins."""
    short_commands: tuple[str, ...] = ("shock",)
    channel_interval: float = 1.0
    timeout: float = 10.0
    rate_limit_retries: int = 2
    rate_limit_max_wait: float = 5.0
    """Retry-After up to this is waited out inside the send; longer ones become RetryAfter."""
    history_budget_per_minute: int = 20
    dedupe_lookback_seconds: float = 900.0
    redirect_uri: str = ""
    scopes: tuple[str, ...] = BOT_SCOPES

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        """The validated `[slack]` table ($PORT and $SLACK_MODE already applied)."""
        table = settings.slack
        return cls(
            **table.model_dump(exclude={"admins", "short_commands", "scopes"}),
            admins=tuple(table.admins),
            short_commands=tuple(table.short_commands),
            scopes=tuple(table.scopes),
        )


class ShortRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry, only for a Retry-After of at most `max_wait` seconds.

    A longer wait is not slept through inside a send (the worker's timeout would cut it
    and make the outcome unknown): the 429 comes back and becomes a RetryAfter.
    """

    def __init__(self, max_retry_count: int = 2, max_wait: float = 5.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        for name, value in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    wait = float(value[0] if isinstance(value, list) else value)
                except (TypeError, ValueError):
                    return True
                return wait <= self.max_wait
        return True


WRITE_METHODS = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "files.completeUploadExternal",
)
"""Methods a resend could double: Slack has no idempotency key."""


class SafeConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, minus the retries that could double a message.

    A connection cut after the request left (disconnected, reset) may come after Slack
    stored the post: resending a write then would post it twice, so a write is retried only
    when the connection never opened; the sink reports the rest as an unknown outcome and
    the worker's resend checks history first. Reads are retried as slack_sdk does.
    """

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        retry = await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )
        if not retry or isinstance(error, aiohttp.ClientConnectorError):
            return retry
        return not request.url.rstrip("/").endswith(WRITE_METHODS)


def make_client(
    config: SlackConfig, token: str | None = None, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client on `api_base` with the 429 and connection-error retry handlers.

    With `session` its connections are kept alive and shared (the sink's many posts);
    without, slack_sdk opens one per request.
    """
    base = config.api_base if config.api_base.endswith("/") else config.api_base + "/"
    return AsyncWebClient(
        token=token,
        base_url=base,
        session=session,
        timeout=config.timeout,  # type: ignore[arg-type]  # aiohttp takes a float
        retry_handlers=[
            SafeConnectionErrorRetryHandler(),
            ShortRateLimitRetryHandler(config.rate_limit_retries, config.rate_limit_max_wait),
        ],
    )
