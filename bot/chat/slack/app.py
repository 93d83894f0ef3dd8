"""The Slack runtime: a Bolt `AsyncApp` built from the handler registry, in one of two modes.

Socket Mode (the default; `SLACK_APP_TOKEN`, no public URL) or HTTP (`SLACK_SIGNING_SECRET`,
Bolt's aiohttp server on `[slack] port` or `$PORT`, with the OAuth install routes
`/slack/install` and `/slack/oauth_redirect` when `SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`
are set). `build_runtime(...)` is what `python -m bot run` calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.chat.slack.attempts import StoredAttempts
from bot.chat.slack.commands import CommandContext, register_commands
from bot.chat.slack.config import SlackConfig, SlackSecrets, make_client
from bot.chat.slack.events import Lifecycle, register_events
from bot.chat.slack.install import installation_stores
from bot.chat.slack.sink import SlackSink, TokenSource, static_token
from bot.redaction import install_redaction
from bot.services import Services
from bot.settings import Settings, SettingsError
from handlers.registry import CommandRegistry

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
CONNECT_SECONDS = 30.0


class SlackConnectError(RuntimeError):
    """Socket Mode could not connect (a wrong app token, no network)."""


def authorize_url(api_base: str) -> str:
    """Slack's OAuth authorize page on the API's host (GovSlack: slack-gov.com)."""
    parts = urlsplit(api_base)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"


def installed_tokens(installations: AsyncInstallationStore) -> TokenSource:
    """A TokenSource reading each workspace's bot token from the installation store."""

    async def source(team_id: str) -> str | None:
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team_id)
        return None if bot is None else bot.bot_token

    return source


@dataclass
class SlackRuntime:
    """The running Slack adapter (PlatformRuntime)."""

    app: AsyncApp
    sink: SlackSink
    config: SlackConfig
    secrets: SlackSecrets
    installations: AsyncInstallationStore | None = None
    host: str = "0.0.0.0"
    platform: str = "slack"
    port: int = 0
    """The HTTP port actually bound (after `start()` in HTTP mode)."""
    _socket: AsyncSocketModeHandler | None = None
    _runner: web.AppRunner | None = None

    @property
    def mode(self) -> str:
        """`socket` or `http`."""
        return self.config.mode

    def web_app(self) -> web.Application:
        """Bolt's aiohttp application: events, commands and the OAuth routes."""
        application = self.app.web_app(path=EVENTS_PATH, port=self.config.port)

        async def health(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        application.router.add_get("/healthz", health)
        return application

    async def start(self) -> None:
        """Connect the socket, or serve HTTP; returns once it is serving."""
        if self.config.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, app_token=self.secrets.app_token)
            try:
                await asyncio.wait_for(self._socket.connect_async(), CONNECT_SECONDS)
            except TimeoutError:
                await self._socket.close_async()
                self._socket = None
                raise SlackConnectError(
                    f"Slack Socket Mode did not connect within {CONNECT_SECONDS:g} s"
                    " (check SLACK_APP_TOKEN and [slack] api_base)"
                ) from None
            log.info("slack: connected in Socket Mode")
            return
        self._runner = web.AppRunner(self.web_app(), shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("slack: serving HTTP on port %s", self.port)

    async def close(self) -> None:
        """Disconnect and stop serving."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.sink.close()


def _mode(config: SlackConfig, secrets: SlackSecrets) -> SlackConfig:
    if config.mode == "socket" and secrets.oauth and not secrets.bot_token:
        raise SettingsError('Slack OAuth install needs HTTP mode ([slack] mode = "http")')
    if config.mode == "socket" and not secrets.app_token:
        if not secrets.signing_secret:
            raise SettingsError('Slack Socket Mode needs SLACK_APP_TOKEN (or set mode = "http")')
        log.warning("SLACK_APP_TOKEN is not set: serving Slack over HTTP instead")
        return dataclasses.replace(config, mode="http")
    if config.mode == "http" and not secrets.signing_secret:
        raise SettingsError("Slack HTTP mode needs SLACK_SIGNING_SECRET")
    return config


def build_runtime(
    settings: Settings,
    services: Services,
    registry: CommandRegistry,
    env: Mapping[str, str] | None = None,
) -> SlackRuntime | None:
    """The Slack runtime, or None when no Slack token (nor OAuth pair) is set."""
    environ = os.environ if env is None else env
    secrets = SlackSecrets.from_env(environ)
    if not (secrets.bot_token or secrets.oauth):
        return None
    install_redaction(secrets.values())
    config = _mode(SlackConfig.from_settings(settings), secrets)
    kv = services.store.keyvalue("slack")
    installations: AsyncInstallationStore | None = None
    if secrets.oauth:
        installations, states = installation_stores(kv, secrets.client_id)
        oauth = AsyncOAuthSettings(
            client_id=secrets.client_id,
            client_secret=secrets.client_secret,
            scopes=list(config.scopes),
            redirect_uri=config.redirect_uri or None,
            authorization_url=authorize_url(config.api_base),
            installation_store=installations,
            state_store=states,
        )
        app = AsyncApp(
            client=make_client(config),
            signing_secret=secrets.signing_secret,
            oauth_settings=oauth,
            installation_store=installations,
        )
        tokens = installed_tokens(installations)
    else:
        app = AsyncApp(
            client=make_client(config, secrets.bot_token),
            signing_secret=secrets.signing_secret or "socket-mode-does-not-sign",
        )
        tokens = static_token(secrets.bot_token)
    register_commands(app, CommandContext(services, registry, config))
    register_events(app, Lifecycle(services.store, installations))
    sink = SlackSink(config, tokens, attempts=StoredAttempts(kv))
    return SlackRuntime(app, sink, config, secrets, installations)
