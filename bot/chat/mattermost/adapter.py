"""Mattermost through its REST API (v4) and incoming webhooks: one message attachment
per message (colour bar, linked title, text, fields, footer).

- ``mattermost = CHANNEL_ID``: ``POST /api/v4/posts`` as the bot account, edits with
  ``PUT /api/v4/posts/{id}/patch``, thread replies with ``root_id``; its action buttons
  are the attachment's ``actions``, calling the bot back at ``[server] public_url`` +
  ``/mattermost/actions`` (``bot.chat.mattermost.interactions``).
- ``mattermost_webhook = URL``: an incoming webhook answers ``ok`` and no post id, so
  it can neither edit nor thread: each change is a new message.

Calls go through the process's one aiohttp session; the delivery stage owns retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.chat import Ref
from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.mattermost.platform import WEBHOOK_URL
from bot.chat.mattermost.signing import context_for
from bot.core.errors import DeliveryError, MessageGone
from bot.core.text import shorten
from bot.render.renderer import Formatter, Message

TITLE_LIMIT = 256
TEXT_LIMIT = 6000
MAX_FIELDS = 20
FIELD_LIMIT = 1000
FOOTER_LIMIT = 500
FALLBACK_LIMIT = 1000
SHORT_FIELD_CHARS = 40
LINKS_FIELD = "Links"
STYLES = {"primary": "primary", "danger": "danger", "": "default"}
"""A button's style hint as Mattermost names its colours."""
_formatter = Formatter(MattermostMarkup())


def _cut(text: str, limit: int) -> str:
    return shorten(text.strip(), limit, tidy=_before_ellipsis)


def _before_ellipsis(head: str) -> str:
    head = head.rstrip()
    trailing = len(head) - len(head.rstrip("\\"))
    return head[:-1] if trailing % 2 else head  # a lone backslash would escape the ellipsis


def links_field(message: Message) -> list[dict[str, Any]]:
    """The link buttons as one last field of markdown links: a message attachment's
    buttons only call an integration back (``integration.url``), none opens a page, so
    a link is the way to one. Labels are escaped: plain text, never markup."""
    value = _formatter.links(message.unlinked(message.links), FIELD_LIMIT)
    return [{"title": LINKS_FIELD, "value": value, "short": False}] if value else []


class Actions:
    """Where a bot post's action buttons call back, and the key their contexts are signed with."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    def buttons(self, message: Message) -> list[dict[str, Any]]:
        """The message's action buttons as attachment ``actions``. Mattermost routes a
        click by the action's ``id`` (``/posts/{id}/actions/{action_id:[A-Za-z0-9]+}``),
        so each id is the action's name in letters and digits only."""
        return [
            {
                "id": "".join(c for c in button.action if c.isalnum()),
                "type": "button",
                "name": button.label,
                "style": STYLES.get(button.style, "default"),
                "integration": {
                    "url": self.url,
                    "context": context_for(self.secret, button.action, button.value),
                },
            }
            for button in message.actions
        ]


def attachment_for(message: Message, actions: Actions | None = None) -> dict[str, Any]:
    """The message as one attachment, every part cut to a size Mattermost shows whole."""
    links = links_field(message)
    attachment: dict[str, Any] = {
        "fallback": _cut(message.fallback(), FALLBACK_LIMIT),
        "color": message.color,
        "title": _cut(message.title, TITLE_LIMIT),
        "text": _cut(message.text, TEXT_LIMIT),
        "fields": [
            {"title": f.name, "value": value, "short": len(value) <= SHORT_FIELD_CHARS}
            for f in message.fields[:MAX_FIELDS]
            if (value := _cut(f.value, FIELD_LIMIT))
        ][: MAX_FIELDS - len(links)]
        + links,
    }
    if message.url and message.url.startswith(("https://", "http://")):
        attachment["title_link"] = message.url
    if message.footer.strip():
        attachment["footer"] = _cut(message.footer, FOOTER_LIMIT)
    if actions is not None and message.actions:
        attachment["actions"] = actions.buttons(message)
    return attachment


def post_body(message: Message, actions: Actions | None = None) -> dict[str, Any]:
    """A post's ``message`` is the headline (shown above the attachment and in the
    notification); a thread reply (no title) is that line alone. Only a bot post carries
    action buttons (``actions``): a webhook's takes no clicks here."""
    attachments = [attachment_for(message, actions)] if message.title else []
    return {
        "message": _cut(message.fallback(), FALLBACK_LIMIT),
        "props": {"attachments": attachments},
    }


def classify(status: int, data: Any, headers: Mapping[str, str], about: str) -> DeliveryError:
    """Turn a failed answer into retry-or-not (table-tested). ``about`` is what the call
    named: ``"channel"``, ``"message"`` (an edit or a reply) or ``"webhook"``."""
    detail = _field(data, "message") or _field(data, "id")
    said = f": {detail}" if detail else ""
    if status == 429:
        return DeliveryError(
            f"mattermost rate limited (429){said}",
            retryable=True,
            retry_after=_retry_after(headers),
            http_status=status,
        )
    if status >= 500:
        return DeliveryError(
            f"mattermost server error {status}{said}", retryable=True, http_status=status
        )
    root_gone = "root_id" in str(_field(data, "id"))
    if about == "message" and (status == 404 or root_gone):
        return MessageGone(f"mattermost: the post was deleted (404){said}", http_status=status)
    if about == "webhook" and "incoming_webhook.invalid" in str(_field(data, "id")):
        status = 404  # Mattermost answers 400 "Invalid webhook" for one that was deleted
    hints = {
        ("webhook", 400): "mattermost refused the webhook's message (400)",
        ("webhook", 404): "mattermost webhook no longer exists (404): create a new one and put "
        "its URL in the target's mattermost_webhook",
        ("webhook", 403): "mattermost webhook is disabled (403): an admin turned off incoming "
        "webhooks or the webhook's channel",
        ("channel", 404): "mattermost: channel not found (404); check the target's channel id",
        ("channel", 403): "mattermost refused (403): add the bot account to the channel's team "
        "and channel",
    }
    reason = hints.get((about, status)) or {
        400: "mattermost rejected the post (400)",
        401: "mattermost rejected the token (401); check [mattermost] bot_token",
        403: "mattermost refused (403): add the bot account to the channel",
        404: "mattermost: not found (404); check [mattermost] url",
    }.get(status, f"mattermost error {status}")
    return DeliveryError(f"{reason}{said}", retryable=False, http_status=status)


def _field(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _retry_after(headers: Mapping[str, str]) -> float:
    for name in ("Retry-After", "X-Ratelimit-Reset"):
        try:
            return max(float(headers[name]), 0.0)
        except (KeyError, TypeError, ValueError):
            continue
    return 1.0


class MattermostAdapter:
    platform = "mattermost"

    def __init__(
        self,
        url: str,
        bot_token: str,
        session: aiohttp.ClientSession,
        actions: Actions | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.bot_token = bot_token
        self.session = session
        self.actions = actions

    def lane(self, address: str) -> str:
        if WEBHOOK_URL.match(address):
            # Never the URL itself: the webhook id is its secret, and lanes appear in logs.
            return f"mattermost:webhook:{hashlib.sha256(address.encode()).hexdigest()[:12]}"
        return f"mattermost:{address}"

    def can_reply(self, address: str, ref: Ref) -> bool:
        return bool(ref.get("post_id")) and not WEBHOOK_URL.match(address)

    async def post(self, address: str, message: Message) -> Ref:
        if WEBHOOK_URL.match(address):
            post = post_body(message)
            body = {"text": post["message"], **post["props"]}
            await self._call("POST", address, body, "webhook")
            return {}  # a webhook says "ok", never which post it made
        answer = await self._call(
            "POST", self._api("/posts"), self._post(address, message), "channel"
        )
        return _ref(answer)

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        if not ref.get("post_id"):
            return await self.post(address, message)  # a webhook's post: a new one instead
        body = post_body(message, self.actions)
        await self._call("PUT", self._api(f"/posts/{ref['post_id']}/patch"), body, "message")
        return ref

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        body = {**self._post(ref.get("channel_id") or address, message), "root_id": ref["post_id"]}
        await self._call("POST", self._api("/posts"), body, "message")
        return ref

    async def ask(self, path: str) -> Any:
        """A GET on the API (what a channel is), for commands and checks; posts nothing."""
        return await self._call("GET", self._api(path), None, "channel")

    def _api(self, path: str) -> str:
        if not (self.url and self.bot_token):
            raise DeliveryError("mattermost not configured", retryable=False)
        return f"{self.url}/api/v4{path}"

    def _post(self, channel: str, message: Message) -> dict[str, Any]:
        return {"channel_id": channel, **post_body(message, self.actions)}

    async def _call(self, method: str, url: str, body: dict[str, Any] | None, about: str) -> Any:
        headers = {} if about == "webhook" else {"Authorization": f"Bearer {self.bot_token}"}
        try:
            async with self.session.request(
                method, url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)
            ) as response:
                raw, status, answer_headers = (
                    await response.read(),
                    response.status,
                    response.headers,
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The exception text can hold the URL, and a webhook URL is its secret.
            raise DeliveryError(
                f"mattermost unreachable: {type(exc).__name__}", retryable=True
            ) from None
        data = _json(raw)
        if 200 <= status < 300:
            return data
        raise classify(status, data, answer_headers, about)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _ref(answer: Any) -> Ref:
    if not isinstance(answer, dict) or not answer.get("id"):
        raise DeliveryError("mattermost answered without a post id", retryable=False)
    return {"post_id": str(answer["id"]), "channel_id": str(answer.get("channel_id", ""))}
