"""Telegram front end: ``/notify ...`` typed in a chat, delivered to ``POST /telegram/updates``.

Telegram signs nothing; it sends back the ``secret_token`` given to ``setWebhook`` as
``X-Telegram-Bot-Api-Secret-Token``, compared here in constant time with
``[telegram] webhook_secret``. The answer rides on the webhook's own response (the Bot
API allows one method call there): a ``sendMessage`` replying to the command, since
Telegram has no message only one person sees. A ``callback_query`` (a click on an
action button) goes to ``bot.chat.telegram.interactions``. Every update is answered 200
once verified, or Telegram sends it again and again.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any, TypeGuard

import aiohttp
from aiohttp import web

from bot.chat.telegram import interactions
from bot.chat.telegram.adapter import TEXT_LIMIT, TelegramAdapter
from bot.chat.telegram.markup import escape_html
from bot.chat.telegram.platform import TELEGRAM, Address, channel_of
from bot.commands.actions import ActionCore
from bot.commands.binding import Workspaces
from bot.commands.core import CommandCore, Reply, answered
from bot.commands.grammar import CommandError
from bot.commands.permissions import Caller
from bot.config.settings import Settings
from bot.core.errors import DeliveryError
from bot.core.text import shorten

log = logging.getLogger("bot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_COMMAND = re.compile(r"^/notify(?:@\w+)?(?:\s+|$)", re.IGNORECASE)


def verified(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def command_text(message: dict[str, Any]) -> str | None:
    """The words after ``/notify`` (or ``/notify@ourbot``), or None for any other text."""
    text = message.get("text")
    if not isinstance(text, str) or (match := _COMMAND.match(text)) is None:
        return None
    return text[match.end() :]


def _readable(message: Any) -> TypeGuard[dict[str, Any]]:
    """A message the way Telegram sends one: a chat with an id, the sender an object."""
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return False
    return "id" in message["chat"] and isinstance(message.get("from") or {}, dict)


def workspaces(settings: Settings) -> Workspaces:
    """A chat is Telegram's workspace: commands are taken from the chats the bot's
    targets post into (anyone can add a bot to their own group)."""

    async def own() -> frozenset[str]:
        return frozenset(
            Address.parse(target.address).chat_id
            for target in settings.targets.values()
            if target.platform == "telegram"
        )

    async def home(channel: str) -> str:
        return Address.parse(channel).chat_id

    return Workspaces("chat", "a telegram target posting into it", own, home)


def caller_of(message: dict[str, Any]) -> Caller:
    chat = message.get("chat") or {}
    user = message.get("from") or {}
    topic = message.get("message_thread_id") if message.get("is_topic_message") else None
    return Caller(
        "telegram",
        str(user.get("id", "")),
        str(user.get("username") or user.get("first_name") or ""),
        channel_of(chat.get("id", ""), topic),
        str(chat.get("title") or chat.get("username") or ""),
        workspace=str(chat.get("id", "")),
    )


def telegram_text(reply: Reply) -> str:
    """The reply as Telegram HTML: escaped, a table in ``<pre>``, within the limit."""
    text = escape_html(reply.text)
    if reply.table:
        text += f"\n<pre>{escape_html(reply.table_text())}</pre>"
    if len(text) > TEXT_LIMIT:
        text = escape_html(shorten(reply.text, TEXT_LIMIT - 100))
    return text


def answer(message: dict[str, Any], reply: Reply) -> web.Response:
    """A ``sendMessage`` in the webhook's response, replying to the command."""
    method: dict[str, Any] = {
        "method": "sendMessage",
        "chat_id": (message.get("chat") or {}).get("id"),
        "text": telegram_text(reply),
        "parse_mode": "HTML",
        "reply_parameters": {"message_id": message.get("message_id")},
        "link_preview_options": {"is_disabled": True},
    }
    if message.get("is_topic_message"):
        method["message_thread_id"] = message.get("message_thread_id")
    return web.json_response(method)


def endpoint(
    settings: Settings,
    core_key: web.AppKey[CommandCore],
    actions_key: web.AppKey[ActionCore] | None = None,
) -> Any:
    async def updates(request: web.Request) -> web.Response:
        if not verified(settings.telegram.webhook_secret, request.headers.get(SECRET_HEADER, "")):
            log.warning("rejected", extra={"source": "telegram", "reason": "bad secret token"})
            return web.json_response(
                {"error": f"missing or wrong {SECRET_HEADER} (see [telegram] webhook_secret)"},
                status=401,
            )
        try:
            update = json.loads(await request.read())
        except ValueError as exc:
            return web.json_response({"error": f"not JSON: {exc}"}, status=400)
        query = update.get("callback_query") if isinstance(update, dict) else None
        if isinstance(query, dict) and actions_key is not None:
            core = request.app[actions_key]
            adapter = TelegramAdapter(
                settings.telegram.api_url, settings.telegram.bot_token, core.session
            )
            interactions.taken(core, adapter, query)
            return web.json_response({})  # taken: answerCallbackQuery follows
        message = update.get("message") if isinstance(update, dict) else None
        if not _readable(message) or (text := command_text(message)) is None:
            return web.json_response({})  # not for us: taken, so Telegram does not resend
        reply = await answered(request.app[core_key].run(text, caller_of(message)))
        return answer(message, reply)

    return updates


def add_routes(
    app: web.Application,
    settings: Settings,
    core_key: web.AppKey[CommandCore],
    actions_key: web.AppKey[ActionCore] | None = None,
) -> None:
    """Mount ``/telegram/updates`` only when ``[telegram] webhook_secret`` is set: commands
    and, given the action core, button clicks."""
    if settings.telegram.webhook_secret:
        app.router.add_post("/telegram/updates", endpoint(settings, core_key, actions_key))


async def set_webhook(settings: Settings, session: aiohttp.ClientSession, url: str) -> str:
    """Tell Telegram to send updates to ``url`` with our secret; says what was set.

    Raises ``CommandError`` saying what to fix.
    """
    telegram = settings.telegram
    if not (telegram.bot_token and telegram.webhook_secret):
        raise CommandError(
            "set [telegram] bot_token and webhook_secret (BOT_TELEGRAM__BOT_TOKEN, "
            "BOT_TELEGRAM__WEBHOOK_SECRET): the token from @BotFather, the secret any "
            "1-256 characters of A-Z a-z 0-9 _ -"
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", telegram.webhook_secret):
        raise CommandError(
            "[telegram] webhook_secret may hold only A-Z a-z 0-9 _ - (1-256 characters)"
        )
    if not url.startswith("https://"):
        raise CommandError(
            f"{url!r} is not an https URL: Telegram calls only https "
            "(the bot's public address, e.g. https://bot.example.com/telegram/updates)"
        )
    adapter = TelegramAdapter(telegram.api_url, telegram.bot_token, session)
    clicks = TELEGRAM.takes_clicks(settings)
    # Telegram sends only the kinds listed: clicks are asked for where buttons are drawn.
    kinds = ["message", "callback_query"] if clicks else ["message"]
    body = {"url": url, "secret_token": telegram.webhook_secret, "allowed_updates": kinds}
    try:
        await adapter.call("setWebhook", body)
    except DeliveryError as exc:
        raise CommandError(f"Telegram refused the webhook: {exc.reason}") from None
    also = " (and clicks on the bot's buttons)" if clicks else ""
    return f"Telegram now sends /notify commands to {url}{also}"
