"""Telegram front end for action buttons: ``callback_query`` updates.

They arrive on ``POST /telegram/updates`` like ``/notify``, verified the same way (the
``X-Telegram-Bot-Api-Secret-Token`` header). The update is taken at once (a 200, so
Telegram does not send it again); the click is then carried out by the action core,
which queues the message's edit (``editMessageText`` with the new keyboard, through the
outbox). The clicker is answered with ``answerCallbackQuery``: the outcome as a short
notice, or, for a refusal or a failure, an alert (``show_alert``) saying why.

An alert holds at most 200 characters; a longer reason is cut there, and the whole of
it is replied under the clicked message, as ``/notify`` answers are, since Telegram has
no message only one person sees.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.chat.telegram.adapter import (
    ACTION_PREFIX,
    TARGET_DIGEST,
    TelegramAdapter,
    target_digest,
)
from bot.chat.telegram.markup import escape_html
from bot.chat.telegram.platform import channel_of
from bot.commands.actions import ActionCore, Answer, Click
from bot.core.errors import DeliveryError
from bot.core.text import ELLIPSIS
from bot.providers.actions import KINDS

log = logging.getLogger("bot.telegram")

ALERT_LIMIT = 200
"""``answerCallbackQuery``'s ``text``: 0-200 characters."""
QUIET_OUTCOMES = ("ok",)
"""Outcomes told as a passing notice; every other one is an alert the clicker closes."""

_running: set[asyncio.Task[None]] = set()
"""Clicks being carried out after their update was taken (kept so none is collected)."""


def _link(chat: dict[str, Any], message_id: Any) -> str:
    """Where the message is: ``t.me/<username>/<id>``, or ``t.me/c/<id>/<id>`` inside a
    supergroup or channel; a private chat has no link."""
    if chat.get("username"):
        return f"https://t.me/{chat['username']}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return ""


def click_of(query: dict[str, Any], value: str) -> Click:
    """Who pressed what, from a ``CallbackQuery`` (``value``: the delivery it leads to)."""
    user = query.get("from") or {}
    message = query.get("message") or {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    topic = message.get("message_thread_id") if message.get("is_topic_message") else None
    data = str(query.get("data") or "")
    action = data.removeprefix(ACTION_PREFIX).partition(":")[0]
    return Click(
        platform="telegram",
        user=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("first_name") or ""),
        channel=channel_of(chat.get("id", ""), topic) if chat else "",
        action=action,
        value=value,
        link=_link(chat, message.get("message_id")) if chat else "",
        # The chat is Telegram's workspace: a click counts only from a target's chat. A
        # button of an inline message comes with no chat, and is refused.
        workspace=str(chat.get("id", "")) if chat else "",
    )


async def delivery_of(core: ActionCore, data: str) -> str:
    """The delivery a button's ``callback_data`` names: written out, or an event id and
    its target's digest (looked up among that event's deliveries)."""
    value = data.removeprefix(ACTION_PREFIX).partition(":")[2]
    if "/" in value or TARGET_DIGEST not in value:
        return value
    event, _, digest = value.partition(TARGET_DIGEST)
    if "." not in event:
        return value
    for delivery in await core.store.deliveries_for(event):
        if target_digest(delivery.target) == digest:
            return delivery.id
    return value


def taken(core: ActionCore, adapter: TelegramAdapter, query: dict[str, Any]) -> None:
    """Start carrying out the click; the update itself is answered 200 right away."""
    task = asyncio.create_task(_carry_out(core, adapter, query))
    _running.add(task)
    task.add_done_callback(_running.discard)


def told(answer: Answer, action: str) -> tuple[str, bool]:
    """The notice's text and whether it is an alert."""
    if answer.outcome in QUIET_OUTCOMES and not answer.text:
        kind = KINDS.get(action)
        return (f"{kind.done} ✓" if kind is not None else ""), False
    return answer.text, answer.outcome not in QUIET_OUTCOMES


async def _carry_out(core: ActionCore, adapter: TelegramAdapter, query: dict[str, Any]) -> None:
    data = str(query.get("data") or "")
    if not data.startswith(ACTION_PREFIX):  # not one of ours: only stop the spinner
        await _answer(adapter, query, "", alert=False)
        return
    click = Click("telegram", "", "", "", "", "")
    try:
        click = click_of(query, await delivery_of(core, data))
        answer = await core.click(click)
    except Exception as exc:  # the clicker still hears; the log has the trace
        log.exception("click failed", extra={"action": click.action})
        answer = Answer(
            f"the click failed ({type(exc).__name__}); the bot's log says more", "failed"
        )
    text, alert = told(answer, click.action)
    if len(text) <= ALERT_LIMIT:
        await _answer(adapter, query, text, alert=alert)
        return
    await _answer(adapter, query, text[: ALERT_LIMIT - 1] + ELLIPSIS, alert=alert)
    await _reply(adapter, query, text)


async def _answer(adapter: TelegramAdapter, query: dict[str, Any], text: str, alert: bool) -> None:
    body: dict[str, Any] = {"callback_query_id": query.get("id")}
    if text:
        body.update(text=text, show_alert=alert)
    try:
        await adapter.call("answerCallbackQuery", body)
    except DeliveryError as exc:  # too late (the query expired) or Telegram is away
        log.warning("click answer refused", extra={"error": exc.reason})


async def _reply(adapter: TelegramAdapter, query: dict[str, Any], text: str) -> None:
    """The whole of a reason too long for an alert, under the clicked message."""
    message = query.get("message") or {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else None
    if chat is None:
        return
    user = query.get("from") or {}
    who = escape_html(str(user.get("username") or user.get("first_name") or ""))
    body: dict[str, Any] = {
        "chat_id": chat.get("id"),
        "text": f"{who + ': ' if who else ''}{escape_html(text)}",
        "parse_mode": "HTML",
        "reply_parameters": {"message_id": message.get("message_id")},
        "link_preview_options": {"is_disabled": True},
    }
    if message.get("is_topic_message"):
        body["message_thread_id"] = message.get("message_thread_id")
    try:
        await adapter.call("sendMessage", body)
    except DeliveryError as exc:
        log.warning("click answer refused", extra={"error": exc.reason})
