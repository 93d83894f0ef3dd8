"""Gateway payloads for the fake Discord: users, guilds, interactions."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

APP_ID = 900000000000000001
BOT_ID = 900000000000000002


def user_payload(user_id: int = BOT_ID, name: str = "sputnik") -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": user_id == BOT_ID,
    }


def application_payload() -> dict[str, Any]:
    """The application object `login()` reads."""
    return {
        "id": str(APP_ID),
        "name": "sputnik",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_payload(1, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
    }


def message_payload(
    message_id: int, channel_id: int, content: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A message object as Discord returns it."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "content": content,
        "author": user_payload(),
        "attachments": [],
        "embeds": body.get("embeds") or [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "flags": body.get("flags") or 0,
        "nonce": body.get("nonce"),
        "components": [],
    }


def guild_payload(
    guild_id: int, channels: list[int], *, locale: str = "en-US", name: str = "guild"
) -> dict[str, Any]:
    """A GUILD_CREATE payload with text channels."""
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "owner_id": "1",
        "preferred_locale": locale,
        "unavailable": False,
        "member_count": 2,
        "large": False,
        "joined_at": "2026-01-01T00:00:00+00:00",
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [
            {
                "id": str(guild_id),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [
            {"id": str(c), "type": 0, "name": f"ch{c}", "position": i, "guild_id": str(guild_id)}
            for i, c in enumerate(channels)
        ],
        "threads": [],
        "members": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


@dataclass
class InteractionFactory:
    """Builds INTERACTION_CREATE payloads the way the gateway sends them."""

    guild_id: int
    channel_id: int
    ids: itertools.count = field(default_factory=lambda: itertools.count(5_000_000))  # type: ignore[type-arg]

    def command(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        locale: str = "en-US",
        guild_locale: str = "en-US",
        permissions: int = 0,
        kind: int = 2,
        user_id: int = 42,
    ) -> dict[str, Any]:
        """A slash command (`kind` 2) or autocomplete (`kind` 4) interaction."""
        interaction_id = next(self.ids)
        return {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"itoken-SECRET-{interaction_id}",
            "version": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id),
            "channel": {"id": str(self.channel_id), "type": 0, "guild_id": str(self.guild_id)},
            "locale": locale,
            "guild_locale": guild_locale,
            "app_permissions": str(2**53 - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "member": {
                "user": user_payload(user_id, "trader"),
                "roles": [],
                "flags": 0,
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "permissions": str(permissions),
            },
            "data": {"id": "1", "name": name, "type": 1, "options": options or []},
        }
