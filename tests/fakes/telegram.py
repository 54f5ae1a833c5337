"""A fake Telegram Bot API on loopback: records every call, answers like Telegram.

It follows the Bot API's documented requests and answers:

- https://core.telegram.org/bots/api#making-requests (``/bot<token>/<method>``, the
  ``{"ok", "result"}`` / ``{"ok": false, "error_code", "description", "parameters"}``
  envelope, ``ResponseParameters.retry_after`` on 429)
- https://core.telegram.org/bots/api#sendmessage (``chat_id``, ``message_thread_id``,
  ``reply_to_message_id`` / ``reply_parameters``, ``reply_markup``, 1-4096 characters
  after entity parsing)
- https://core.telegram.org/bots/api#editmessagetext
- https://core.telegram.org/bots/api#inlinekeyboardbutton (``callback_data``, 1-64
  bytes; more is "Bad Request: BUTTON_DATA_INVALID")
- https://core.telegram.org/bots/api#callbackquery and
  https://core.telegram.org/bots/api#answercallbackquery (``text`` 0-200 characters,
  ``show_alert``; an unknown or answered query is "Bad Request: query is too old and
  response timeout expired or query ID is invalid")
- https://core.telegram.org/bots/api#replyparameters (``reply_parameters.message_id``)
- https://core.telegram.org/bots/api#html-style (the tags HTML parse mode accepts; a bad
  one is "Bad Request: can't parse entities")
- https://core.telegram.org/bots/api#setwebhook (``secret_token``, ``allowed_updates``)
  and https://core.telegram.org/bots/api#getwebhookinfo (``WebhookInfo``)
- https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this

Tests script failures with ``fail_next`` (a status and Telegram's description, a
``retry_after``), and name chats the bot cannot reach (``missing``, ``blocked``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

BOT_TOKEN = "123456:telegram-test-token"
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"tg-spoiler", "span", "blockquote", "tg-emoji"}
)
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
ANSWER_LIMIT = 200
QUERY_GONE = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int = 200
    at: float = 0.0
    description: str = ""
    """What Telegram said of a refused call."""


@dataclass
class Scripted:
    status: int
    description: str
    retry_after: int | None = None
    chat: str | None = None


@dataclass
class Posted:
    """A message as Telegram keeps it: every text it was given, and the replies to it."""

    chat_id: str
    message_id: int
    versions: list[dict[str, Any]]
    replies: list[dict[str, Any]] = field(default_factory=list)
    reply_to: int | None = None


class _Entities(HTMLParser):
    """Telegram's HTML parse mode: only its tags, properly nested; counts what shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.shown: list[str] = []
        self.problem = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problem = self.problem or f'unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f'unexpected end tag "{tag}"'
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.shown.append(data)


def parse_html(text: str) -> tuple[str, str]:
    """(what a reader sees, the problem Telegram would refuse it for, if any)."""
    parser = _Entities()
    parser.feed(text)
    parser.close()
    problem = parser.problem or (f'can\'t find end tag "{parser.open[-1]}"' if parser.open else "")
    return "".join(parser.shown), problem


class FakeTelegram:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.messages: dict[tuple[str, int], Posted] = {}
        self.missing: set[str] = set()
        """Chats that answer "chat not found"."""
        self.blocked: set[str] = set()
        """Chats where the bot is no member (403)."""
        self.webhook: dict[str, Any] = {}
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        """What ``Call.at`` and the group limit count in (a ``FakeClock``'s monotonic)."""
        self.group_limit: int | None = None
        self.queries: dict[str, dict[str, Any]] = {}
        """Callback queries sent to the bot (``callback_query``), by id, still to answer."""
        self.answers: list[dict[str, Any]] = []
        """``answerCallbackQuery`` bodies Telegram took, oldest first."""
        self._next_id = 100
        self._next_query = 5_000
        self.arrived = asyncio.Condition()
        self.url = ""
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self._handle)

    # -- scripting and reading ------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        chat: str | None = None,
    ) -> None:
        """The next ``times`` sends and edits (to ``chat`` only, if given) fail so."""
        self.script.extend(Scripted(status, description, retry_after, chat) for _ in range(times))

    def limit_groups(self, per_minute: int = 20) -> None:
        """Answer 429 + ``retry_after`` to sends beyond ``per_minute`` in any minute to a
        group (a negative chat id), as the Bot API FAQ says Telegram limits groups."""
        self.group_limit = per_minute

    def _group_wait(self, chat: str, now: float) -> int:
        """0 when a send to ``chat`` is within the group limit, else seconds to wait."""
        if self.group_limit is None or not chat.startswith("-"):
            return 0
        recent = [
            c.at
            for c in self.calls
            if c.status == 200
            and c.method == "sendMessage"
            and str(c.body.get("chat_id")) == chat
            and now - c.at < 60
        ]
        if len(recent) < self.group_limit:
            return 0
        return max(1, int(60 - (now - min(recent))) + 1)

    def callback_query(
        self, message: Posted, data: str, user: int, name: str, chat_id: str | None = None
    ) -> dict[str, Any]:
        """The update Telegram posts to the bot's webhook when ``user`` presses the button
        carrying ``data`` under ``message`` (from the chat ``chat_id``, if not its own)."""
        self._next_query += 1
        query = {
            "id": str(self._next_query),
            "from": {"id": user, "is_bot": False, "first_name": name.title(), "username": name},
            "message": {
                **_message(message),
                "reply_markup": message.versions[-1].get("reply_markup"),
            },
            "chat_instance": "-8812345678901234567",
            "data": data,
        }
        if chat_id is not None:
            query["message"]["chat"] = {"id": int(chat_id), "type": "supergroup"}
        self.queries[query["id"]] = query
        return {"update_id": self._next_query, "callback_query": query}

    def roots(self, chat: str | None = None) -> list[Posted]:
        """First messages (not replies), in posting order."""
        return [
            m
            for m in self.messages.values()
            if m.reply_to is None and (chat is None or m.chat_id == chat)
        ]

    def sends(self) -> list[Call]:
        """Every ``sendMessage`` call, answered or refused."""
        return [c for c in self.calls if c.method == "sendMessage"]

    def delivered(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> None:
            async with self.arrived:
                await self.arrived.wait_for(check)

        await asyncio.wait_for(satisfied(), timeout)
        return check()

    # -- handlers ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        call = Call(method, body, at=self.clock())
        answer = self._answer(request.match_info["token"], call)
        call.status = answer.status
        if answer.status != 200 and answer.text:
            call.description = str(json.loads(answer.text).get("description", ""))
        async with self.arrived:
            self.calls.append(call)
            self.arrived.notify_all()
        return answer

    def _answer(self, token: str, call: Call) -> web.Response:
        if token != BOT_TOKEN:
            return _error(401, "Unauthorized")
        chat = str(call.body.get("chat_id", ""))
        scriptable = call.method in ("sendMessage", "editMessageText")  # not the checks
        for number, scripted in enumerate(self.script if scriptable else []):
            if scripted.chat in (None, chat):
                del self.script[number]
                return _error(scripted.status, scripted.description, scripted.retry_after)
        if call.method == "answerCallbackQuery":
            return self._answer_query(call.body)
        if call.method == "setWebhook":
            self.webhook = dict(call.body)
            return _ok(True)
        if call.method == "getWebhookInfo":
            return _ok(self._webhook_info())
        if call.method == "getMe":
            return _ok({"id": 123456, "is_bot": True, "username": "chatops_bot"})
        if call.method == "getChat" and chat not in self.missing | self.blocked:
            return _ok({"id": int(chat), "type": "supergroup", "title": f"chat {chat}"})
        if call.method == "sendMessage" and (wait := self._group_wait(chat, call.at)):
            return _error(429, f"Too Many Requests: retry after {wait}", wait)
        if chat in self.missing:
            return _error(400, "Bad Request: chat not found")
        if chat in self.blocked:
            return _error(403, "Forbidden: bot is not a member of the supergroup chat")
        shown, problem = parse_html(str(call.body.get("text", "")))
        if problem:
            return _error(400, f"Bad Request: can't parse entities: {problem}")
        if not shown.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        if call.method == "getChat":
            return _error(400, "Bad Request: chat not found")
        if (invalid := _bad_button(call.body)) is not None:
            return invalid
        if call.method == "sendMessage":
            return self._send(chat, call.body)
        if call.method == "editMessageText":
            return self._edit(chat, call.body)
        return _error(404, "Not Found")

    def _webhook_info(self) -> dict[str, Any]:
        """``WebhookInfo``: ``allowed_updates`` only when the webhook was given a list."""
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _answer_query(self, body: dict[str, Any]) -> web.Response:
        if self.queries.pop(str(body.get("callback_query_id")), None) is None:
            return _error(400, QUERY_GONE)
        if len(str(body.get("text", ""))) > ANSWER_LIMIT:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answers.append(body)
        return _ok(True)

    def _send(self, chat: str, body: dict[str, Any]) -> web.Response:
        parent_id = body.get("reply_to_message_id")
        if parent_id is None and isinstance(body.get("reply_parameters"), dict):
            parent_id = body["reply_parameters"].get("message_id")
        parent = self.messages.get((chat, parent_id)) if parent_id is not None else None
        if parent_id is not None and parent is None:
            return _error(400, "Bad Request: message to be replied not found")
        self._next_id += 1
        message = Posted(chat, self._next_id, [body], reply_to=parent_id)
        self.messages[(chat, message.message_id)] = message
        if parent is not None:
            parent.replies.append(body)
        return _ok(_message(message))

    def _edit(self, chat: str, body: dict[str, Any]) -> web.Response:
        message = self.messages.get((chat, body.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        last = message.versions[-1]
        if (last.get("text"), last.get("reply_markup")) == (
            body.get("text"),
            body.get("reply_markup"),
        ):
            return _error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message.versions.append(body)
        return _ok(_message(message))


def _bad_button(body: dict[str, Any]) -> web.Response | None:
    """Telegram's answer to a keyboard it refuses, if this one is."""
    rows = (body.get("reply_markup") or {}).get("inline_keyboard") or []
    for button in (b for row in rows for b in row):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
            return _error(400, "Bad Request: BUTTON_DATA_INVALID")
    return None


def _message(message: Posted) -> dict[str, Any]:
    chat_id: int | str = int(message.chat_id) if message.chat_id.lstrip("-").isdigit() else 0
    body = message.versions[-1]
    return {
        "message_id": message.message_id,
        "date": 1_700_000_000,
        "chat": {
            "id": chat_id,
            "type": "supergroup" if str(chat_id).startswith("-") else "private",
        },
        "text": parse_html(str(body.get("text", "")))[0],
    }


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def text_of(call: Call) -> str:
    return json.dumps(call.body, ensure_ascii=False)
