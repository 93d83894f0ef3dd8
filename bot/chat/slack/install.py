"""Where Slack installations and OAuth states live: beside the bot's own store.

SQLite (`[store] url = sqlite:///sputnik.db`): slack_sdk's own SQLite stores in a sibling
file (`sputnik-slack.db`). Redis: `RedisInstallationStore` / `RedisOAuthStateStore` below,
under the store URL's prefix, so several bot instances share every workspace's install.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from bot.domain.model import redact_url
from bot.ports.store import StoreUnavailable
from bot.stores.redis_codec import split_redis_url

log = logging.getLogger(__name__)
STATE_SECONDS = 600


def _none(value: str | None) -> str:
    return value or "-"


class RedisInstallationStore(AsyncInstallationStore):
    """slack_sdk's async installation store on Redis: one JSON value per workspace and user."""

    def __init__(self, redis: Redis, prefix: str, client_id: str = "") -> None:
        self._redis = redis
        self._prefix = f"{prefix}slack:{client_id or 'app'}:"

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, kind: str, enterprise_id: str | None, team_id: str | None) -> str:
        return f"{self._prefix}{kind}:{_none(enterprise_id)}:{_none(team_id)}"

    async def async_save(self, installation: Installation) -> None:
        """Save the installation (latest and per installer) and its bot."""
        ent, team = installation.enterprise_id, installation.team_id
        if installation.is_enterprise_install:
            team = None
        value = json.dumps(installation.__dict__)
        key = self._key("installation", ent, team)
        await self._redis.set(key, value)
        await self._redis.hset(key + ":users", _none(installation.user_id), value)
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        """Save the bot installation of a workspace."""
        team = None if bot.is_enterprise_install else bot.team_id
        await self._redis.set(self._key("bot", bot.enterprise_id, team), json.dumps(bot.__dict__))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's bot installation, if any."""
        team = None if is_enterprise_install else team_id
        raw = await self._redis.get(self._key("bot", enterprise_id, team))
        return None if raw is None else Bot(**json.loads(raw))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The installer's installation (or the latest one of the workspace)."""
        team = None if is_enterprise_install else team_id
        key = self._key("installation", enterprise_id, team)
        raw: Any = await (
            self._redis.hget(key + ":users", user_id) if user_id else self._redis.get(key)
        )
        return None if raw is None else Installation(**json.loads(raw))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot."""
        await self._redis.delete(self._key("bot", enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget one installer's installation, or all of the workspace's."""
        key = self._key("installation", enterprise_id, team_id)
        if user_id:
            await self._redis.hdel(key + ":users", user_id)
        else:
            await self._redis.delete(key, key + ":users")


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """One-time OAuth states with a 10-minute expiry, shared by every instance."""

    def __init__(self, redis: Redis, prefix: str, expiration_seconds: int = STATE_SECONDS) -> None:
        self._redis = redis
        self._prefix = f"{prefix}slack:oauth-state:"
        self._expiry = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new random state, valid once for ten minutes."""
        state = secrets.token_urlsafe(24)
        await self._redis.set(self._prefix + state, "1", ex=self._expiry)
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state we issued and that has not expired."""
        return await self._redis.getdel(self._prefix + state) is not None


def sqlite_sibling(store_url: str) -> Path:
    """`sqlite:///dir/sputnik.db` → `dir/sputnik-slack.db` (`sqlite:////abs/x.db` → `/abs/…`)."""
    path = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0] or "sputnik.db")
    return path.with_name(f"{path.stem}-slack{path.suffix or '.db'}")


def installation_stores(
    store_url: str, client_id: str = ""
) -> tuple[AsyncInstallationStore, AsyncOAuthStateStore]:
    """The installation and OAuth-state stores that follow `[store] url`."""
    if store_url.startswith("sqlite:"):
        path = str(sqlite_sibling(store_url))
        return (
            SQLite3InstallationStore(database=path, client_id=client_id or "app"),
            SQLite3OAuthStateStore(database=path, expiration_seconds=STATE_SECONDS),
        )
    if store_url.startswith(("redis://", "rediss://", "unix://")):
        client_url, prefix = split_redis_url(store_url)
        redis = Redis.from_url(client_url, decode_responses=True)
        return (
            RedisInstallationStore(redis, prefix, client_id),
            RedisOAuthStateStore(redis, prefix),
        )
    raise StoreUnavailable(f"no Slack installation store for {redact_url(store_url)}")
