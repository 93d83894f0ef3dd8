"""Redis store for scale-out: several bot processes share one Redis (layout: docs/stores.md).

Claims run as Lua scripts (atomic); each claimed alert message is a row of its print's bucket
hash (digests and notices a hash of their own), and each platform's pending items are a sorted
set scored by when they are due (or when their lease runs out). The outbound path lives in
`redis_outbox.py`, the connection in `redis_base.py`, the scripts in `redis_lua*.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.domain.chain import ChainLink
from bot.domain.model import Channel, ChannelRef, Language, Subscription, SubscriptionKind, stamp
from bot.ports.store import StoreError
from bot.stores.redis_base import _translated, unavailable
from bot.stores.redis_codec import sub_from_json, sub_json
from bot.stores.redis_controls import RedisControls, snooze_from, snooze_text, watch_from
from bot.stores.redis_kv import RedisKeyValue
from bot.stores.redis_outbox import RedisOutbox

__all__ = ["RedisStore", "unavailable"]


CHAIN_TTL_SECONDS = 40 * 86400
"""How long a trading day's chain is kept (the digest reads it the next morning)."""


class RedisStore(RedisOutbox, RedisControls):
    """Store on one Redis; every key starts with `prefix`."""

    # -- channels -------------------------------------------------------------------------

    @_translated
    async def upsert_channel(self, channel: Channel) -> None:
        """Create or replace a channel."""
        ref = channel.ref
        fields: dict[str | bytes, str | int] = {
            "language": channel.language,
            "timezone": channel.timezone or "",
            "active": int(channel.active),
        }
        optional = {
            "inactive_reason": channel.inactive_reason,
            "mention": channel.mention,
            "snooze": snooze_text(channel.snooze) if channel.snooze else None,
        }
        fields |= {name: value for name, value in optional.items() if value}
        if channel.watchlist is not None:
            fields["watch"] = ",".join(channel.watchlist)
        unset = [name for name, value in optional.items() if not value]  # absent: none
        unset += ["watch"] if channel.watchlist is None else []
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.k("channel", ref.key), mapping=fields)
            if unset:
                pipe.hdel(self.k("channel", ref.key), *unset)
            if channel.snooze is None:
                pipe.zrem(self.k("snoozed"), ref.key)
            else:
                pipe.zadd(self.k("snoozed"), {ref.key: channel.snooze.until.timestamp()})
            pipe.sadd(self.k("channels"), ref.key)
            if channel.active:
                pipe.srem(self.k("channels", "inactive"), ref.key)
            else:
                pipe.sadd(self.k("channels", "inactive"), ref.key)
            await pipe.execute()

    @_translated
    async def get_channel(self, ref: ChannelRef) -> Channel | None:
        """The channel, or None."""
        fields = ("language", "timezone", "active", "inactive_reason", "mention", "snooze", "watch")
        language, zone, active, reason, mention, snooze, watch = await self.redis.hmget(
            self.k("channel", ref.key), fields
        )
        if language is None:
            return None
        return Channel(
            ref=ref,
            language=language,
            timezone=zone or None,
            active=active == "1",
            inactive_reason=reason or None,
            mention=mention or None,
            snooze=snooze_from(snooze),
            watchlist=watch_from(watch),
        )

    @_translated
    async def set_language(self, ref: ChannelRef, language: Language) -> None:
        """Change a known channel's language."""
        await self._require_channel(ref)
        await self.redis.hset(self.k("channel", ref.key), "language", language)

    @_translated
    async def set_timezone(self, ref: ChannelRef, zone: str | None) -> None:
        """Choose a known channel's zone (None: follow its language)."""
        await self._require_channel(ref)
        await self.redis.hset(self.k("channel", ref.key), "timezone", zone or "")

    @_translated
    async def deactivate(self, ref: ChannelRef, reason: str) -> None:
        """Stop alerting a channel, remembering why."""
        await self._require_channel(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.k("channel", ref.key), mapping={"active": 0, "inactive_reason": reason})
            pipe.sadd(self.k("channels", "inactive"), ref.key)
            await pipe.execute()

    # -- subscriptions --------------------------------------------------------------------

    @_translated
    async def add_subscription(self, subscription: Subscription) -> None:
        """Create or replace (channel, kind, rule_id); the channel must exist."""
        s = subscription
        args = [self.prefix, s.kind, s.rule_id, s.channel.key, sub_json(s)]
        if not await self.script("add_sub", args):
            raise StoreError(f"unknown channel {s.channel.key}")

    @_translated
    async def remove_subscription(
        self, ref: ChannelRef, kind: SubscriptionKind, rule_id: str
    ) -> bool:
        """Remove one subscription; False if there was none."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.k("rule", kind, rule_id), ref.key)
            pipe.srem(self.k("chsubs", ref.key), f"{kind}|{rule_id}")
            pipe.srem(self.k("custom"), f"{ref.key}|{rule_id}") if kind == "alert" else None
            if kind == "alert":  # a later subscription starts afresh (a new `once` fires)
                pipe.hdel(self.k("channel", ref.key), f"t:{rule_id}")
            removed, *_ = await pipe.execute()
        return bool(removed)

    @_translated
    async def list_subscriptions(self, ref: ChannelRef) -> list[Subscription]:
        """A channel's subscriptions, sorted by (kind, rule_id)."""
        members = sorted(await self.redis.smembers(self.k("chsubs", ref.key)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                kind, rule_id = member.split("|", 1)
                pipe.hget(self.k("rule", kind, rule_id), ref.key)
            texts = await pipe.execute()
        return [
            sub_from_json(ref.key, member.split("|", 1)[0], member.split("|", 1)[1], text)
            for member, text in zip(members, texts, strict=True)
            if text is not None
        ]

    @_translated
    async def recipients(
        self, rule_id: str, *, now: datetime, kind: SubscriptionKind = "alert"
    ) -> list[Subscription]:
        """Subscriptions to `rule_id` of active channels, not expired at `now`, not muted."""
        moment = now
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.k("rule", kind, rule_id))
            pipe.smembers(self.k("channels", "inactive"))
            subs, inactive = await pipe.execute()
        found = (
            sub_from_json(ckey, kind, rule_id, text)
            for ckey, text in sorted(subs.items())
            if ckey not in inactive
        )
        return [sub for sub in found if not sub.expired(moment) and not sub.muted]

    @_translated
    async def custom_rules(self, now: datetime) -> list[Subscription]:
        """Alert subscriptions with an expression, of active channels, not expired, not muted."""
        members = sorted(await self.redis.smembers(self.k("custom")))
        pairs = [member.rsplit("|", 1) for member in members]
        async with self.redis.pipeline(transaction=False) as pipe:
            for ckey, rule_id in pairs:
                pipe.hget(self.k("rule", "alert", rule_id), ckey)
            pipe.smembers(self.k("channels", "inactive"))
            *texts, inactive = await pipe.execute()
        found = [
            sub_from_json(ckey, "alert", rule_id, text)
            for (ckey, rule_id), text in zip(pairs, texts, strict=True)
            if text is not None and ckey not in inactive
        ]
        return [sub for sub in found if sub.expression and not sub.expired(now) and not sub.muted]

    @_translated
    async def set_mention(self, ref: ChannelRef, mention: str | None) -> None:
        """Set (or clear) who the channel's alerts ping."""
        await self._require_channel(ref)
        if mention:
            await self.redis.hset(self.k("channel", ref.key), "mention", mention)
        else:
            await self.redis.hdel(self.k("channel", ref.key), "mention")

    # -- purging, run claims, digest slots ------------------------------------------------

    async def _purge(self, platform: str, keys: list[str]) -> int:
        if not keys:
            return 0
        await self.script("park_channels", [self.prefix, platform, "", *keys])
        return int(await self.script("purge", [self.prefix, *keys]))

    @_translated
    async def purge_channel(self, ref: ChannelRef) -> None:
        """Forget a channel: its subscriptions, trigger state, history and pending items."""
        await self._purge(ref.platform, [ref.key])

    @_translated
    async def purge_workspace(self, platform: str, workspace_id: str) -> int:
        """Purge every channel of a workspace; how many."""
        start = f"{platform}:{workspace_id}:"
        keys = sorted(
            k for k in await self.redis.smembers(self.k("channels")) if k.startswith(start)
        )
        return await self._purge(platform, keys)

    @_translated
    async def workspaces(self, platform: str) -> list[str]:
        """Workspace ids with stored channels on `platform`, sorted."""
        keys = await self.redis.smembers(self.k("channels"))
        found = {ChannelRef.from_key(k).workspace_id for k in keys if k.startswith(platform + ":")}
        return sorted(found)

    def keyvalue(self, namespace: str) -> RedisKeyValue:
        """An adapter's key-value namespace under the prefix (`{prefix}{namespace}:…`)."""
        return RedisKeyValue(self, namespace)

    @_translated
    async def claim_run(self, job_id: str, scheduled: datetime, ttl_seconds: float) -> bool:
        """True for exactly one caller per (job id, scheduled time): SET NX PX, never deleted."""
        key = self.k("run", f"{job_id}|{stamp(scheduled)}")
        ttl_ms = max(1, int(ttl_seconds * 1000))
        return bool(await self.redis.set(key, "1", nx=True, px=ttl_ms))

    @_translated
    async def last_digest(self, subscription: Subscription) -> datetime | None:
        """When the subscription's previous digest was queued (None: never)."""
        field = f"{subscription.channel.key}|{subscription.rule_id}"
        text = await self.redis.hget(self.k("digests"), field)
        return datetime.fromisoformat(text) if text else None

    @_translated
    async def record_digest(self, subscription: Subscription, at: datetime) -> bool:
        """Remember that slot `at` was queued; False if it (or a later one) already was."""
        field = f"{subscription.channel.key}|{subscription.rule_id}"
        return bool(await self.script("record_digest", [self.prefix, field, stamp(at)]))

    @_translated
    async def add_chain(self, day: date, links: Sequence[ChainLink]) -> None:
        """Keep the day's alerts: one hash per day, each link once (HSETNX), kept 40 days."""
        key = self.k("chain", day.isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            for link in links:
                pipe.hsetnx(key, link.key, link.to_json())
            pipe.expire(key, CHAIN_TTL_SECONDS)
            await pipe.execute()

    @_translated
    async def chain(self, day: date) -> list[ChainLink]:
        """The day's alerts, time-ordered (then by key)."""
        found = await self.redis.hgetall(self.k("chain", day.isoformat()))
        links = [ChainLink.from_json(found[key]) for key in sorted(found)]
        return sorted(links, key=lambda link: (link.at, link.key))
