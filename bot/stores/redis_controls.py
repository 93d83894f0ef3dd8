"""The Redis store's channel controls (layout 4, docs/stores.md): muted subscriptions, saved
rules, snoozes and the alerts they hold, watch lists and on-demand request times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.domain.model import ChannelRef, Snooze, SubscriptionKind
from bot.ports.store import StoreError
from bot.stores.redis_base import RedisBase, _translated


def snooze_text(snooze: Snooze) -> str:
    """The channel hash's `snooze` field: `EPOCH|1` (drop) or `EPOCH|0` (summarise)."""
    seconds = snooze.until.timestamp()
    number = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    return f"{number}|{int(snooze.drop)}"


def snooze_from(text: str | None) -> Snooze | None:
    """Inverse of `snooze_text` (absent: not snoozed)."""
    if not text:
        return None
    seconds, _, drop = text.partition("|")
    return Snooze(datetime.fromtimestamp(float(seconds), UTC), drop == "1")


def watch_from(text: str | None) -> tuple[str, ...] | None:
    """The `watch` field: comma-separated symbols; absent: the configured default."""
    if text is None:
        return None
    return tuple(symbol for symbol in text.split(",") if symbol)


class RedisControls(RedisBase):
    """What `/mute`, `/rules`, `/snooze`, `/watchlist` and `/digest now` keep."""

    async def _require_channel(self, ref: ChannelRef) -> None:
        if not await self.redis.exists(self.k("channel", ref.key)):
            raise StoreError(f"unknown channel {ref.key}")

    @_translated
    async def set_muted(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str, muted: bool
    ) -> bool:
        """Mute or unmute one subscription; False if there is none."""
        args = [self.prefix, kind, rule_id, ref.key, int(muted)]
        return bool(await self.script("set_muted", args))

    @_translated
    async def save_rule(self, ref: ChannelRef, name: str, expression: str) -> None:
        """Keep a named rule in the channel's book (replacing one of that name)."""
        await self._require_channel(ref)
        await self.redis.hset(self.k("rules", ref.key), name, expression)

    @_translated
    async def saved_rules(self, ref: ChannelRef) -> dict[str, str]:
        """The channel's saved rules, name → expression, by name."""
        found = await self.redis.hgetall(self.k("rules", ref.key))
        return dict(sorted(found.items()))

    @_translated
    async def delete_rule(self, ref: ChannelRef, name: str) -> bool:
        """Forget a saved rule; False if there was none."""
        return bool(await self.redis.hdel(self.k("rules", ref.key), name))

    @_translated
    async def set_snooze(self, ref: ChannelRef, snooze: Snooze | None) -> None:
        """Pause a known channel's alerts, or clear the pause (held alerts are kept)."""
        await self._require_channel(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            if snooze is None:
                pipe.hdel(self.k("channel", ref.key), "snooze")
                pipe.zrem(self.k("snoozed"), ref.key)
            else:
                pipe.hset(self.k("channel", ref.key), "snooze", snooze_text(snooze))
                pipe.zadd(self.k("snoozed"), {ref.key: snooze.until.timestamp()})
            await pipe.execute()

    @_translated
    async def hold_alerts(self, ref: ChannelRef, alert_ids: Sequence[str]) -> None:
        """Keep alert ids that came during a snooze, in order."""
        if alert_ids:
            await self.redis.rpush(self.k("held", ref.key), *alert_ids)

    @_translated
    async def end_snooze(self, ref: ChannelRef) -> tuple[Snooze | None, list[str]]:
        """End the snooze now: the snooze it had and the alert ids it held, both cleared."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.k("channel", ref.key), "snooze")
            pipe.lrange(self.k("held", ref.key), 0, -1)
            pipe.delete(self.k("held", ref.key))
            pipe.hdel(self.k("channel", ref.key), "snooze")
            pipe.zrem(self.k("snoozed"), ref.key)
            text, ids, *_ = await pipe.execute()
        return snooze_from(text), list(dict.fromkeys(ids))

    @_translated
    async def ended_snoozes(self, now: datetime) -> list[ChannelRef]:
        """Channels whose snooze ended at or before `now`."""
        keys = await self.redis.zrangebyscore(self.k("snoozed"), "-inf", now.timestamp())
        return [ChannelRef.from_key(key) for key in sorted(keys)]

    @_translated
    async def set_watchlist(self, ref: ChannelRef, symbols: Sequence[str] | None) -> None:
        """The symbols a known channel's digest covers; None: the configured default."""
        await self._require_channel(ref)
        if symbols is None:
            await self.redis.hdel(self.k("channel", ref.key), "watch")
        else:
            await self.redis.hset(self.k("channel", ref.key), "watch", ",".join(symbols))

    @_translated
    async def claim_request(
        self, ref: ChannelRef, name: str, now: datetime, min_interval_seconds: float
    ) -> datetime | None:
        """Record a request at `now` unless one came less than the interval before; None when
        recorded, else that earlier time."""
        args = [self.prefix, ref.key, name, repr(now.timestamp()), repr(min_interval_seconds)]
        found = await self.script("claim_request", args)
        if found == -1:
            raise StoreError(f"unknown channel {ref.key}")
        if found == 0:
            return None
        return datetime.fromtimestamp(float(found), UTC)
