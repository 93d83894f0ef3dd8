"""The Redis store's key-value namespaces: `{prefix}{namespace}:{key}`, plain strings and
hashes (the layout Slack's installations, OAuth states and attempt log always had)."""

from __future__ import annotations

from bot.stores.redis_base import RedisBase, _translated


class RedisKeyValue:
    """One namespace of small values under the store's prefix, shared by every instance."""

    def __init__(self, store: RedisBase, namespace: str) -> None:
        self.namespace = namespace
        self.store = store
        self._prefix = f"{store.prefix}{namespace}:"

    @property
    def url(self) -> str:
        """The store's URL (`_translated` names it in errors)."""
        return self.store.url

    async def drop_connections(self) -> None:
        """Reconnect on the next command (after a failover)."""
        await self.store.drop_connections()

    @_translated
    async def get(self, key: str) -> str | None:
        """The key's value, or None."""
        value: str | None = await self.store.redis.get(self._prefix + key)
        return value

    @_translated
    async def set(
        self, key: str, value: str, *, ttl_seconds: float | None = None, only_new: bool = False
    ) -> bool:
        """SET (NX) with PX for a TTL (the server's clock)."""
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        done = await self.store.redis.set(self._prefix + key, value, px=px, nx=only_new)
        return bool(done)

    @_translated
    async def take(self, key: str) -> str | None:
        """GETDEL: one caller gets the value."""
        value: str | None = await self.store.redis.getdel(self._prefix + key)
        return value

    @_translated
    async def delete(self, *keys: str) -> None:
        """DEL the keys."""
        if keys:
            await self.store.redis.delete(*(self._prefix + key for key in keys))

    @_translated
    async def get_field(self, key: str, field: str) -> str | None:
        """HGET."""
        value: str | None = await self.store.redis.hget(self._prefix + key, field)
        return value

    @_translated
    async def set_field(self, key: str, field: str, value: str) -> None:
        """HSET."""
        await self.store.redis.hset(self._prefix + key, field, value)

    @_translated
    async def delete_field(self, key: str, field: str) -> None:
        """HDEL."""
        await self.store.redis.hdel(self._prefix + key, field)
