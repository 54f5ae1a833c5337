"""Slack through slack_sdk's ``AsyncWebClient``: Block Kit with a colour bar.

Messages stay well under ``msg_blocks_too_long`` (which Slack raises near 13k characters
of block content, long before its documented limits): every part is cut to its own
limit and the whole to ``MAX_BLOCK_CHARS``, with an ellipsis where text was cut.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import Ref
from bot.chat.slack.markup import SlackMarkup
from bot.core.errors import DeliveryError, MessageGone
from bot.core.text import shorten
from bot.render.renderer import Message

MAX_BLOCK_CHARS = 11_000
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
FALLBACK_LIMIT = 3000

# Errors that no retry can fix; anything else unexpected is retried until max_attempts.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "no_text",
        "too_many_attachments",
        "restricted_action",
        "cant_update_message",
        "edit_window_closed",
        "invalid_arguments",
        "team_access_not_granted",
        "ekm_access_denied",
        "is_inactive",
        "channel_is_archived",
    }
)


def _cut(text: str, limit: int) -> str:
    return shorten(text, limit, tidy=str.rstrip)


def blocks_for(message: Message) -> list[dict[str, Any]]:
    """Block Kit for a message, sized to pass Slack's checks."""
    title = _cut(message.title, 250)
    link = message.url  # it passed safe_url: no `|`, `<` or `>` to end the tag early
    heading = f"*<{link}|{title}>*" if link else f"*{title}*"
    context = " · ".join(part for part in (_cut(message.footer, 300), _when(message)) if part)
    budget = MAX_BLOCK_CHARS - len(heading) - len(context)
    body = _cut(message.text, min(SECTION_LIMIT - len(heading) - 1, budget // 2))
    shown = message.fields[:MAX_FIELDS]
    per_field = min(FIELD_LIMIT, (budget - len(body)) // max(len(shown), 1))
    fields = [{"type": "mrkdwn", "text": _cut(f"*{f.name}*\n{f.value}", per_field)} for f in shown]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{heading}\n{body}".strip()}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    if message.actions or message.links:
        blocks.append(actions_block(message))
    return blocks


def _when(message: Message) -> str:
    """When the event happened, in the reader's own zone: the context line's last part,
    as the anchors' (GitHub's, PagerDuty's) Slack apps end theirs."""
    if message.timestamp is None:
        return ""
    moment = datetime.fromtimestamp(message.timestamp, UTC)
    return SlackMarkup().time(int(message.timestamp), f"{moment:%Y-%m-%d %H:%M} UTC")


ACTION_PREFIX = "bot."
"""Starts every action button's ``action_id`` (``bot.acknowledge``): what the click
front end listens for."""
LINK_PREFIX = "link."
"""Starts every link button's ``action_id``: Slack tells an interactive app of those
clicks too, and the click front end only acknowledges them."""
MAX_ELEMENTS = 25
"""Slack's limit of elements in one ``actions`` block."""


def actions_block(message: Message) -> dict[str, Any]:
    """The message's buttons as one ``actions`` block, one row: the action buttons, then
    the link buttons, up to Slack's 25 elements (the actions are never the ones cut)."""
    elements = []
    for button in message.actions[:MAX_ELEMENTS]:
        element: dict[str, Any] = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{button.action}",
            "text": {"type": "plain_text", "text": button.label},
            "value": button.value,
        }
        if button.style in ("primary", "danger"):
            element["style"] = button.style
        elements.append(element)
    for number, link in enumerate(message.links[: MAX_ELEMENTS - len(elements)]):
        elements.append(
            {
                "type": "button",
                "action_id": f"{LINK_PREFIX}{number}",
                "text": {"type": "plain_text", "text": link.label},
                "url": link.url,
            }
        )
    return {"type": "actions", "block_id": "bot_actions", "elements": elements}


def message_payload(message: Message) -> dict[str, Any]:
    """Body of ``chat.postMessage`` (and, without ``unfurl_media``, ``chat.update``).

    The top-level ``text`` is the headline: Slack shows it above the card (whose title
    is the object) and in the notification. A message without a title (a thread
    reply) is that line alone, with its buttons under it when it has some (then the
    line is a section block too: Slack shows top-level blocks, not ``text``)."""
    payload: dict[str, Any] = {"text": _cut(message.fallback(), FALLBACK_LIMIT)}
    if message.title:
        payload["attachments"] = [{"color": message.color, "blocks": blocks_for(message)}]
    elif message.actions or message.links:
        line = {"type": "mrkdwn", "text": _cut(message.fallback(), SECTION_LIMIT)}
        payload["blocks"] = [{"type": "section", "text": line}, actions_block(message)]
    return {**payload, "unfurl_links": False, "unfurl_media": False}


class SlackAdapter:
    platform = "slack"

    def __init__(self, token: str, api_url: str, session: aiohttp.ClientSession) -> None:
        # retry_handlers=[]: the delivery stage owns retry (and honours Retry-After).
        self.client = AsyncWebClient(
            token=token, base_url=api_url, session=session, retry_handlers=[], timeout=15
        )

    def lane(self, address: str) -> str:
        return f"slack:{address}"

    async def post(self, address: str, message: Message) -> Ref:
        response = await self._call("chat.postMessage", channel=address, **message_payload(message))
        return {"channel": response["channel"], "ts": response["ts"]}

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        # thread_ts is the parent's ts, and the channel must be the id Slack returned for it.
        await self._call(
            "chat.postMessage",
            channel=ref["channel"],
            thread_ts=ref["ts"],
            **message_payload(message),
        )
        return ref

    def can_reply(self, address: str, ref: Ref) -> bool:
        return True

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        payload = message_payload(message)
        payload.pop("unfurl_media")
        response = await self._call("chat.update", channel=ref["channel"], ts=ref["ts"], **payload)
        return {"channel": response["channel"], "ts": response["ts"]}

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            raise classify(
                exc.response.status_code, exc.response.data, exc.response.headers
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(
                f"slack unreachable: {type(exc).__name__}", retryable=True
            ) from None
        data: dict[str, Any] = dict(response.data) if isinstance(response.data, dict) else {}
        return data


def classify(status: int, data: Any, headers: Any) -> DeliveryError:
    """Turn a failed Web API answer into retry-or-not (table-tested)."""
    error = data.get("error", "") if isinstance(data, dict) else ""
    if status == 429 or error in ("ratelimited", "rate_limited"):
        retry_after = _retry_after(headers)
        return DeliveryError(
            "slack rate limited (429)", retryable=True, retry_after=retry_after, http_status=status
        )
    if status >= 500:
        return DeliveryError(f"slack server error {status}", retryable=True, http_status=status)
    if error == "message_not_found":
        return MessageGone(
            "slack error: message_not_found (the message was deleted)", http_status=status
        )
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"slack error: {error}", retryable=False, http_status=status)
    return DeliveryError(
        f"slack error: {error or f'HTTP {status}'}", retryable=True, http_status=status
    )


def _retry_after(headers: Any) -> float:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return max(float(value), 0.0)
    except (TypeError, ValueError, AttributeError):
        return 1.0
