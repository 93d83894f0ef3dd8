"""JSON and URL codecs of the Redis store (subscriptions, `?prefix=`); events: `codec.py`."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.domain.model import ChannelRef, Subscription, TriggerPolicy


def split_redis_url(url: str) -> tuple[str, str]:
    """The URL without our `prefix=` query parameter, and that prefix (default `sputnik:`)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((value for key, value in query if key == "prefix"), "sputnik:")
    rest = urlencode([(key, value) for key, value in query if key != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def sub_json(sub: Subscription) -> str:
    """A subscription's settings (its channel and rule are in the key); `m` only when muted."""
    settings: dict[str, object] = {
        "e": sub.expression,
        "p": sub.policy.text(),
        "x": sub.expires.isoformat() if sub.expires else None,
        "t": sub.digest_time,
        "z": sub.digest_zone,
    }
    if sub.muted:
        settings["m"] = 1
    return json.dumps(settings)


Settings = tuple[str | None, TriggerPolicy, date | None, str | None, str | None, bool]


@lru_cache(maxsize=4096)
def _settings(text: str) -> Settings:
    """A subscription's settings from its JSON (10,000 subscribers of a preset share a few)."""
    data = json.loads(text)
    expires = date.fromisoformat(data["x"]) if data["x"] else None
    muted = bool(data.get("m"))
    return data["e"], TriggerPolicy.parse(data["p"]), expires, data["t"], data["z"], muted


def sub_from_json(ckey: str, kind: str, rule_id: str, text: str) -> Subscription:
    """Inverse of `sub_json`."""
    expression, policy, expires, digest_time, digest_zone, muted = _settings(text)
    return Subscription(
        channel=ChannelRef.from_key(ckey),
        rule_id=rule_id,
        kind=kind,  # type: ignore[arg-type]
        expression=expression,
        policy=policy,
        expires=expires,
        digest_time=digest_time,
        digest_zone=digest_zone,
        muted=muted,
    )
