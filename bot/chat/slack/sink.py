"""Alerts and digests to Slack: `chat.postMessage` paced per channel, deduplicated by metadata.

Slack has no nonce, so every message carries its idempotency key in message metadata. A
resend (a key whose send was started before, by any process sharing the attempt log, or
`resend=True` from the worker) first looks for the key in the channel's recent history
(`conversations.history` with `oldest` and `include_all_metadata`, within a per-workspace
budget) and posts nothing if it is there.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.pacing import KeyedPacer, WindowBudget
from bot.chat.slack.attempts import AttemptLog, MemoryAttempts
from bot.chat.slack.config import SlackConfig, make_client
from bot.chat.slack.render import colour_attachments, render_blocks
from bot.domain.cards import Card
from bot.domain.i18n import Locale, t
from bot.domain.model import Channel, ChannelRef
from bot.ports import Delivered, DeliveryOutcome, Failed, Gone, RetryAfter

log = logging.getLogger(__name__)

TokenSource = Callable[[str], Awaitable[str | None]]
"""team_id → that workspace's bot token (None when the app is not installed there)."""

METADATA_EVENT = "sputnik_delivery"
GONE_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "token_revoked"}
)
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found"})


def static_token(token: str) -> TokenSource:
    """A TokenSource for a single-workspace install (SLACK_BOT_TOKEN)."""

    async def source(team_id: str) -> str | None:
        return token

    return source


def slack_error(exc: SlackApiError) -> str:
    """The `error` field of a Slack error answer ("unknown" when absent)."""
    try:
        return str(exc.response.get("error") or "unknown")
    except AttributeError:
        return "unknown"


ShowHint = Callable[[str], Awaitable[None]]
"""Shows the "/invite @Sputnik to see charts" text where the chart would have been."""


async def upload_chart(
    client: AsyncWebClient, ref: ChannelRef, card: Card, ts: str, locale: Locale, hint: ShowHint
) -> None:
    """Upload the card's chart in the thread of message `ts`; never raises.

    Where the bot is not in the channel, `hint` shows the invite hint (in `locale`) instead;
    any other failure (of the upload or of the hint) is logged and the message stays as is.
    """
    try:
        await client.files_upload_v2(
            channel=ref.channel_id,
            thread_ts=ts or None,
            file=card.chart_png,
            filename=card.chart_name,
            title=card.title,
        )
    except SlackApiError as exc:
        if slack_error(exc) not in NOT_IN_CHANNEL:
            log.warning("chart upload to %s failed: %s", ref.key, slack_error(exc))
            return
        try:
            await hint(t("slack.invite", locale))
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as hint_exc:
            log.warning("invite hint to %s failed: %s", ref.key, type(hint_exc).__name__)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("chart upload to %s failed: %s", ref.key, type(exc).__name__)


def retry_after_seconds(exc: SlackApiError) -> float:
    """The Retry-After header of a 429 (1 s when absent or unreadable)."""
    headers = getattr(exc.response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value[0] if isinstance(value, list) else value), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0


class SlackSink:
    """The ChatSink for Slack (one per process; clients per workspace token)."""

    platform = "slack"

    def __init__(
        self,
        config: SlackConfig,
        tokens: TokenSource,
        *,
        pacer: KeyedPacer | None = None,
        budget: WindowBudget | None = None,
        attempts: AttemptLog | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._tokens = tokens
        self.pacer = pacer or KeyedPacer(config.channel_interval)
        self.budget = budget or WindowBudget(config.history_budget_per_minute, 60.0)
        self._wall = wall
        self._clients: dict[str, AsyncWebClient] = {}
        self._session: aiohttp.ClientSession | None = None
        self.attempts = attempts or MemoryAttempts(wall)
        self.history_checks = 0

    def client_for(self, token: str) -> AsyncWebClient:
        """The cached Web API client for one workspace token."""
        client = self._clients.get(token)
        if client is None:
            if self._session is None or self._session.closed:
                # slack_sdk applies its timeout only to sessions it opens itself
                timeout = aiohttp.ClientTimeout(total=self.config.timeout)
                self._session = aiohttp.ClientSession(timeout=timeout)
            client = self._clients[token] = make_client(self.config, token, self._session)
        return client

    async def pace(self, channel: Channel) -> None:
        """Wait for the channel's turn: one message per `channel_interval` after the last."""
        await self.pacer.acquire(channel.ref.key)

    async def send(
        self, channel: Channel, card: Card, idempotency_key: str, *, resend: bool = False
    ) -> DeliveryOutcome:
        """Post the card (chart as a thread reply); check history first on a resend."""
        self.pacer.begin(channel.ref.key)
        try:
            return await self._send(channel, card, idempotency_key, resend)
        finally:
            self.pacer.release(channel.ref.key)

    async def _send(self, channel: Channel, card: Card, key: str, resend: bool) -> DeliveryOutcome:
        ref = channel.ref
        try:
            token = await self._tokens(ref.workspace_id)
        except Exception as exc:
            return Failed(f"installation store: {type(exc).__name__}")
        if token is None:
            return Gone("slack: the app is not installed in this workspace")
        client = self.client_for(token)
        try:
            first = await self.attempts.mark(key)
        except Exception as exc:
            return Failed(f"attempt log unavailable: {type(exc).__name__}")
        outcome = await self._post(client, channel, card, key, first, resend)
        certain = not isinstance(outcome, Failed) or not outcome.unknown_outcome
        if first is None and certain and not isinstance(outcome, Delivered):
            with contextlib.suppress(Exception):  # surely not posted: no check next time
                await self.attempts.forget(key)
        return outcome

    async def _post(
        self,
        client: AsyncWebClient,
        channel: Channel,
        card: Card,
        key: str,
        first: float | None,
        resend: bool,
    ) -> DeliveryOutcome:
        ref = channel.ref
        try:
            if resend or first is not None:
                found = await self._find_posted(client, channel, key, first)
                if isinstance(found, RetryAfter):
                    return found
                if found is not None:
                    log.info("delivery %s was already posted to %s; not again", key, ref.key)
                    return Delivered(found)
            blocks, text = render_blocks(card, channel.language, zone=channel.zone_name)
            answer = await client.chat_postMessage(
                channel=ref.channel_id,
                text=text,
                blocks=blocks,
                attachments=colour_attachments(card, channel.language) or None,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
            ts = str(answer.get("ts") or "")
            if card.chart_png is not None:
                await upload_chart(
                    client, ref, card, ts, channel.language, self._thread_hint(client, ref, ts)
                )
            return Delivered(ts or None)
        except SlackApiError as exc:
            return self._outcome(channel, exc)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            return Failed(f"timeout: {type(exc).__name__}", unknown_outcome=True)
        except aiohttp.ClientConnectorError as exc:
            return Failed(f"cannot connect to Slack: {type(exc).__name__}")
        except aiohttp.ClientError as exc:
            return Failed(f"connection lost: {type(exc).__name__}", unknown_outcome=True)

    def _outcome(self, channel: Channel, exc: SlackApiError) -> DeliveryOutcome:
        status = getattr(exc.response, "status_code", 200)
        error = slack_error(exc)
        if status == 429 or error == "ratelimited":
            seconds = retry_after_seconds(exc)
            self.pacer.defer(channel.ref.key, seconds)
            return RetryAfter(seconds, "slack: rate limited")
        if error in GONE_ERRORS:
            return Gone(f"slack: {error}")
        if status >= 500:
            return Failed(f"slack: HTTP {status}", unknown_outcome=True)
        return Failed(f"slack: {error}")

    async def _find_posted(
        self, client: AsyncWebClient, channel: Channel, key: str, first: float | None
    ) -> str | RetryAfter | None:
        """The ts of the message carrying `key` in recent history, if any."""
        ref = channel.ref
        since = first if first is not None else self._wall() - self.config.dedupe_lookback_seconds
        oldest = f"{since - 60:.6f}"  # a minute of clock skew
        cursor: str | None = None
        for _ in range(3):
            wait = self.budget.try_use(ref.workspace_id)
            if wait > 0:
                return RetryAfter(wait, "slack: history budget for the dedupe check")
            self.history_checks += 1
            try:
                answer = await client.conversations_history(
                    channel=ref.channel_id,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                if slack_error(exc) in ("missing_scope", "not_allowed_token_type"):
                    log.warning(
                        "cannot read history of %s (%s); posting", ref.key, slack_error(exc)
                    )
                    return None
                raise
            for message in answer.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                    return str(message.get("ts"))
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        return None

    @staticmethod
    def _thread_hint(client: AsyncWebClient, ref: ChannelRef, ts: str) -> ShowHint:
        """Post the invite hint as a reply in the alert's thread."""

        async def show(hint: str) -> None:
            await client.chat_postMessage(channel=ref.channel_id, thread_ts=ts or None, text=hint)

        return show

    async def close(self) -> None:
        """Close the shared HTTP session."""
        self._clients.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
