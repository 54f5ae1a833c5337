"""Telegram through the Bot API: ``sendMessage`` / ``editMessageText`` in HTML parse mode.

A message is one HTML text: the headline in bold, the title (a link when there is a
URL), the text,
the fields as ``name: value`` lines, the footer in italics, cut to Telegram's 4,096
characters without breaking a tag. Its action buttons are callback buttons (their
``callback_data`` leads the click back to the delivery, within 64 bytes); the URL is
also an inline-keyboard button, and so is each of the message's link buttons, two a
row. A thread
is a chain of replies to the first message (``reply_to_message_id``); a forum topic
(``topic = N``) is ``message_thread_id``.

Every answer is ``{"ok": ..., "error_code": ..., "description": ...}``; ``classify``
turns a failure into retry-or-not, honouring ``parameters.retry_after`` on a 429.
Calls go through the process's one aiohttp session, and the token (which is part of
every URL) never reaches a log or an error.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp

from bot.chat import Ref
from bot.chat.telegram.markup import TelegramMarkup, cut_html
from bot.chat.telegram.platform import Address
from bot.core.errors import DeliveryError, MessageGone
from bot.render.renderer import Message

TEXT_LIMIT = 4096
TITLE_LIMIT = 512
BUTTON_LABEL = "Open"
LINKS_PER_ROW = 2
"""Two labels a row stay readable on a phone; Telegram allows up to eight."""
ACTIONS_PER_ROW = 3
"""Action labels are short (Acknowledge, Silence 4h): three a row."""
ACTION_PREFIX = "bot."
"""Starts every action button's ``callback_data`` (``bot.acknowledge:12.0/eng``)."""
CALLBACK_LIMIT = 64
"""``callback_data`` is 1-64 bytes (https://core.telegram.org/bots/api#inlinekeyboardbutton)."""
TARGET_DIGEST = "#"
"""Between a click's event id and its target's digest, when the whole delivery id does
not fit (``bot.silence_24h:12.0#3f2a9c1b7e``)."""

# Descriptions (lower case) that no retry can fix, from the Bot API's answers.
PERMANENT = (
    "chat not found",
    "bot was blocked",
    "bot is not a member",
    "bot was kicked",
    "not enough rights",
    "have no rights",
    "user is deactivated",
    "chat_write_forbidden",
    "topic_closed",
    "message thread not found",
    "can't parse entities",
    "message is too long",
    "text must be non-empty",
    "group chat was upgraded",
)
GONE = ("message to edit not found", "message to be replied not found", "message can't be edited")


def text_for(message: Message) -> str:
    """The message as Telegram HTML within its limit: the headline (what happened) in
    bold, the title under it as a link; a thread reply (no title) is its headline."""
    title = cut_html(message.title, TITLE_LIMIT)
    if title and message.url and message.url.startswith(("https://", "http://")):
        title = TelegramMarkup().link(message.url, title)
    first = cut_html(message.headline, TITLE_LIMIT) or title
    lines = [f"<b>{first}</b>"]
    if message.headline and title:
        lines.append(title)
    if message.text.strip():
        lines.append(message.text.strip())
    lines.extend(f"<b>{f.name}</b>: {f.value}" for f in message.fields)
    if message.footer.strip():
        lines.append(f"<i>{message.footer.strip()}</i>")
    return cut_html("\n".join(lines), TEXT_LIMIT)


def target_digest(target: str) -> str:
    """A short stand-in for a target's name in a ``callback_data`` too long with it."""
    return hashlib.sha256(target.encode()).hexdigest()[:10]


def callback_data(action: str, value: str) -> str:
    """What a click on an action button sends back: the action and the delivery its
    message first showed (the key the action core reads the conversation by). When a
    long target name makes that more than Telegram's 64 bytes, the target is replaced by
    a digest, found again among the event's deliveries."""
    whole = f"{ACTION_PREFIX}{action}:{value}"
    if len(whole.encode()) <= CALLBACK_LIMIT:
        return whole
    event, _, target = value.partition("/")
    return f"{ACTION_PREFIX}{action}:{event}{TARGET_DIGEST}{target_digest(target)}"


def keyboard(message: Message) -> dict[str, Any] | None:
    """The action buttons (callback buttons), then URL buttons: *Open* to the source
    when the message has a web URL, then its link buttons (labels are plain text on
    Telegram's buttons, shown as typed)."""
    actions = [
        {"text": b.label, "callback_data": callback_data(b.action, b.value)}
        for b in message.actions
    ]
    rows: list[list[dict[str, str]]] = [
        actions[i : i + ACTIONS_PER_ROW] for i in range(0, len(actions), ACTIONS_PER_ROW)
    ]
    if message.url and message.url.startswith(("https://", "http://")):
        rows.append([{"text": BUTTON_LABEL, "url": message.url}])
    links = [{"text": b.label, "url": b.url} for b in message.links]
    rows += [links[i : i + LINKS_PER_ROW] for i in range(0, len(links), LINKS_PER_ROW)]
    return {"inline_keyboard": rows} if rows else None


def payload(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "text": text_for(message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if markup := keyboard(message):
        body["reply_markup"] = markup
    return body


def parameters_of(data: dict[str, Any]) -> dict[str, Any]:
    """``ResponseParameters``: ``retry_after`` on a 429, ``migrate_to_chat_id``."""
    parameters = data.get("parameters")
    return parameters if isinstance(parameters, dict) else {}


def classify(status: int, data: Any) -> DeliveryError:
    """Turn a failed Bot API answer into retry-or-not (table-tested)."""
    data = data if isinstance(data, dict) else {}
    code = data.get("error_code") if isinstance(data.get("error_code"), int) else status
    description = str(data.get("description") or f"HTTP {status}")
    lowered = description.lower()
    said = f"telegram: {description} ({code})"
    if code == 429:
        wait = parameters_of(data).get("retry_after")
        retry_after = float(wait) if isinstance(wait, int | float) and wait >= 0 else 1.0
        return DeliveryError(said, retryable=True, retry_after=retry_after, http_status=code)
    if code >= 500:
        return DeliveryError(said, retryable=True, http_status=code)
    if any(gone in lowered for gone in GONE):
        return MessageGone(f"{said}: the message was deleted", http_status=code)
    if code == 401 or code == 404:
        return DeliveryError(
            f"{said}: check [telegram] bot_token (from @BotFather)",
            retryable=False,
            http_status=code,
        )
    moved = parameters_of(data).get("migrate_to_chat_id")
    if moved is not None:
        return DeliveryError(
            f'{said}: the group is a supergroup now; set the target\'s telegram = "{moved}"',
            retryable=False,
            http_status=code,
        )
    if any(reason in lowered for reason in PERMANENT) or code == 403:
        hint = "; add the bot to the chat and check the target's chat id" if code != 400 else ""
        return DeliveryError(f"{said}{hint}", retryable=False, http_status=code)
    return DeliveryError(said, retryable=code not in (400, 409), http_status=code)


class TelegramAdapter:
    platform = "telegram"

    def __init__(self, api_url: str, bot_token: str, session: aiohttp.ClientSession) -> None:
        self.api_url = api_url.rstrip("/")
        self.bot_token = bot_token
        self.session = session

    def lane(self, address: str) -> str:
        # Telegram paces per chat: every topic of a forum shares its chat's budget.
        return f"telegram:{Address.parse(address).chat_id}"

    def can_reply(self, address: str, ref: Ref) -> bool:
        return True

    async def post(self, address: str, message: Message) -> Ref:
        where = Address.parse(address)
        sent = await self.call("sendMessage", {**where.fields(), **payload(message)})
        return _ref(sent, where)

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        body = {"chat_id": ref["chat_id"], "message_id": ref["message_id"], **payload(message)}
        try:
            await self.call("editMessageText", body)
        except DeliveryError as exc:
            if "message is not modified" not in exc.reason:
                raise  # an edit to what it already shows changes nothing: done
        return ref

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        where = Address.parse(address)
        body = {**where.fields(), **payload(message), "reply_to_message_id": ref["message_id"]}
        body["chat_id"] = ref["chat_id"]  # a group upgraded since answers with its new id
        await self.call("sendMessage", body)
        return ref

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """One Bot API method; its ``result``, or a ``DeliveryError`` saying why not."""
        if not self.bot_token:
            raise DeliveryError("telegram not configured", retryable=False)
        url = f"{self.api_url}/bot{self.bot_token}/{method}"
        try:
            async with self.session.post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=15)
            ) as response:
                raw, status = await response.read(), response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The exception text can hold the URL, and the URL holds the token.
            raise DeliveryError(
                f"telegram unreachable: {type(exc).__name__}", retryable=True
            ) from None
        data = _json(raw)
        if status == 200 and isinstance(data, dict) and data.get("ok") is True:
            return data.get("result")
        raise classify(status, data)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _ref(sent: Any, where: Address) -> Ref:
    if not isinstance(sent, dict) or "message_id" not in sent:
        raise DeliveryError("telegram answered without a message id", retryable=False)
    chat = sent.get("chat")
    chat_id = chat.get("id", where.chat_id) if isinstance(chat, dict) else where.chat_id
    return {"chat_id": chat_id, "message_id": sent["message_id"]}
