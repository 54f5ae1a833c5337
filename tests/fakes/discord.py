"""A fake Discord REST API on loopback: webhooks, bot channel messages, threads.

It keeps the messages it was sent (so a test can see one message edited in place and
the replies in its thread), checks embeds against Discord's limits the way Discord does
(400, code 50035), and plays scripted failures with ``fail_next``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "discord-bot-token"
GUILD = "555000111222333444"
"""The guild every channel is in unless ``guild_of`` says otherwise."""
API = "/api/v10"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float
    status: int = 200


@dataclass
class Scripted:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""


@dataclass
class Posted:
    """A message as it stands now; ``versions`` is every body it was given, first to last."""

    id: str
    channel_id: str
    webhook_id: str | None
    versions: list[dict[str, Any]]
    thread_id: str | None = None

    @property
    def embed(self) -> dict[str, Any]:
        embeds: list[dict[str, Any]] = self.versions[-1].get("embeds") or [{}]
        return embeds[0]

    @property
    def title(self) -> str:
        """The card's title as a reader sees it: the embed title; the author line above it
        is only the headline (what happened)."""
        return str(self.embed.get("title") or "")


def embed_problem(embed: dict[str, Any]) -> str | None:
    """What Discord would refuse in an embed, or None."""
    limits = {"title": 256, "description": 4096}
    total = 0
    for key, limit in limits.items():
        value = str(embed.get(key) or "").strip()
        total += len(value)
        if len(value) > limit:
            return f"embeds.0.{key}: Must be {limit} or fewer in length."
    fields = embed.get("fields") or []
    if len(fields) > 25:
        return "embeds.0.fields: Must be 25 or fewer in length."
    for number, item in enumerate(fields):
        name, value = str(item.get("name", "")).strip(), str(item.get("value", "")).strip()
        if not name or not value:
            return f"embeds.0.fields.{number}: This field is required"
        if len(name) > 256 or len(value) > 1024:
            return f"embeds.0.fields.{number}: Must be 1024 or fewer in length."
        total += len(name) + len(value)
    footer = str((embed.get("footer") or {}).get("text", "")).strip()
    if len(footer) > 2048:
        return "embeds.0.footer.text: Must be 2048 or fewer in length."
    total += len(footer)
    if total > 6000:
        return "embeds: Embed size exceeds maximum size of 6000"
    url = embed.get("url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        return "embeds.0.url: Not a well formed URL."
    return None


def components_problem(rows: Any, webhook: bool) -> str | None:
    """What Discord would refuse in a message's components, or None (Discord's "Message
    Components" and "Button" pages: five action rows of up to five buttons; a link button,
    style 5, has a ``url`` of up to 512 characters and no ``custom_id``; a label is up to
    80 characters). A webhook not owned by an application may carry none at all."""
    if not rows:
        return None
    if webhook:
        return "components: Webhooks can only send components when owned by an application."
    if len(rows) > 5:
        return "components: Must be 5 or fewer in length."
    for r, row in enumerate(rows):
        buttons = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(buttons) <= 5:
            return f"components.{r}.components: Must be between 1 and 5 in length."
        for b, button in enumerate(buttons):
            where = f"components.{r}.components.{b}"
            if len(str(button.get("label", ""))) > 80:
                return f"{where}.label: Must be 80 or fewer in length."
            if button.get("style") == 5:
                url = str(button.get("url", ""))
                if "custom_id" in button or not url.startswith(("http://", "https://")):
                    return f"{where}.url: A link button needs a url and no custom_id."
                if len(url) > 512:
                    return f"{where}.url: Must be 512 or fewer in length."
            elif "url" in button or not button.get("custom_id"):
                return f"{where}.custom_id: This field is required"
    return None


class FakeDiscord:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.messages: dict[str, Posted] = {}
        self.deleted_webhooks: set[str] = set()
        self.lookups: list[str] = []
        self.bucket_headers: dict[str, str] = {}
        self._next_id = 1_200_000_000_000_000_000
        self.arrived = asyncio.Condition()
        self.url = ""
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        """What ``Call.at`` counts in (a ``FakeClock``'s monotonic, for a bot on one)."""
        self.app = web.Application(middlewares=[self._note_status])
        self.app.router.add_post(API + "/webhooks/{hook}/{token}", self._execute)
        self.app.router.add_get(API + "/webhooks/{hook}/{token}", self._webhook)
        self.app.router.add_patch(API + "/webhooks/{hook}/{token}/messages/{mid}", self._edit)
        self.app.router.add_get(API + "/users/@me", self._me)
        self.app.router.add_get(API + "/channels/{channel}", self._channel)
        self.app.router.add_post(API + "/channels/{channel}/messages", self._create)
        self.app.router.add_patch(API + "/channels/{channel}/messages/{mid}", self._edit)
        self.app.router.add_post(
            API + "/channels/{channel}/messages/{mid}/threads", self._start_thread
        )
        self.app.router.add_put(API + "/applications/{app}/commands", self._commands)
        self.app.router.add_put(API + "/applications/{app}/guilds/{guild}/commands", self._commands)
        self.hidden_channels: set[str] = set()
        """Channels the bot may not view (403 Missing Access); any other id exists."""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        """Application commands by scope (``global`` or the guild id), as registered."""
        self.guild_of: dict[str, str] = {}
        """Channels of other guilds than ``GUILD``, by channel id."""

    # -- scripting and reading ------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        match: str = "",
    ) -> None:
        """The next ``times`` requests whose ``"METHOD path"`` contains ``match`` fail."""
        self.script.extend(Scripted(status, body, headers or {}, match) for _ in range(times))

    def human_starts_thread(self, message_id: str) -> str:
        """Someone in the channel starts a thread on a message (webhooks cannot)."""
        self.messages[message_id].thread_id = message_id
        return message_id

    def delete(self, message_id: str) -> None:
        del self.messages[message_id]

    def roots(self) -> list[Posted]:
        """Messages posted in channels, not in threads, in posting order."""
        threads = {m.thread_id for m in self.messages.values() if m.thread_id}
        return [m for m in self.messages.values() if m.channel_id not in threads]

    def in_thread(self, thread_id: str) -> list[Posted]:
        return [m for m in self.messages.values() if m.channel_id == thread_id]

    def delivered(self) -> list[Call]:
        return [c for c in self.calls if c.status < 300]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> None:
            async with self.arrived:
                await self.arrived.wait_for(check)

        await asyncio.wait_for(satisfied(), timeout)
        return check()

    # -- handlers ---------------------------------------------------------------

    @web.middleware
    async def _note_status(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every call keeps the status it was answered with, whoever refused it."""
        response: web.StreamResponse = await handler(request)
        call = request.get("call")
        if call is not None:
            call.status = response.status
        return response

    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        body = await request.json() if request.can_read_body else None
        call = Call(
            request.method,
            request.path,
            dict(request.query),
            body,
            dict(request.headers),
            self.clock(),
        )
        answer = self._scripted(call) or self._refused(call)
        if answer is not None:
            call.status = answer.status
        request["call"] = call
        async with self.arrived:
            self.calls.append(call)
            self.arrived.notify_all()
        return call, answer

    def _scripted(self, call: Call) -> web.Response | None:
        for number, scripted in enumerate(self.script):
            if scripted.match in f"{call.method} {call.path}":
                del self.script[number]
                if isinstance(scripted.body, str):
                    return web.Response(
                        status=scripted.status, text=scripted.body, headers=scripted.headers
                    )
                return web.json_response(
                    scripted.body, status=scripted.status, headers=scripted.headers
                )
        return None

    def _refused(self, call: Call) -> web.Response | None:
        """Discord's own checks: auth, known webhooks, embed limits."""
        if "/channels/" in call.path and call.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        parts = call.path.split("/")
        if "/webhooks/" in call.path and parts[4] in self.deleted_webhooks:
            return _error(404, 10015, "Unknown Webhook")
        if call.method in ("POST", "PATCH") and isinstance(call.body, dict):
            webhook = "/webhooks/" in call.path
            problems = [embed_problem(embed) for embed in call.body.get("embeds") or []]
            problems.append(components_problem(call.body.get("components"), webhook))
            for problem in problems:
                if problem:
                    return web.json_response(
                        {"code": 50035, "message": "Invalid Form Body", "errors": _nest(problem)},
                        status=400,
                    )
        return None

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _answer(self, message: Posted) -> web.Response:
        body: dict[str, Any] = {
            "id": message.id,
            "type": 0,
            "channel_id": message.channel_id,
            "content": "",
            "embeds": message.versions[-1].get("embeds", []),
        }
        if message.webhook_id:
            body["webhook_id"] = message.webhook_id
        if message.thread_id:
            body["thread"] = {"id": message.thread_id, "type": 11, "name": "thread"}
        return web.json_response(body, headers=self.bucket_headers)

    async def _execute(self, request: web.Request) -> web.StreamResponse:
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        hook = request.match_info["hook"]
        channel = call.query.get("thread_id") or self.channel_of(hook)
        message = Posted(self._new_id(), channel, hook, [call.body])
        self.messages[message.id] = message
        if call.query.get("wait") != "true":
            return web.Response(status=204)
        return self._answer(message)

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        """Get Webhook with Token: which channel the webhook posts into.

        Counted apart from ``calls``, which are the messages the bot sends.
        """
        hook = request.match_info["hook"]
        async with self.arrived:
            self.lookups.append(hook)
            self.arrived.notify_all()
        if hook in self.deleted_webhooks:
            return _error(404, 10015, "Unknown Webhook")
        return web.json_response({"id": hook, "type": 1, "channel_id": self.channel_of(hook)})

    async def _channel(self, request: web.Request) -> web.StreamResponse:
        """Get Channel: its guild (not counted in ``calls``, which are messages)."""
        if request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        channel = request.match_info["channel"]
        if channel in self.hidden_channels:
            return _error(403, 50001, "Missing Access")
        guild = self.guild_of.get(channel, GUILD)
        return web.json_response(
            {"id": channel, "type": 0, "name": f"room-{channel}", "guild_id": guild}
        )

    @staticmethod
    def channel_of(hook: str) -> str:
        """The channel a webhook posts into (a fixed mapping, so tests can name it)."""
        return f"9{hook}"

    async def _me(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        return web.json_response({"id": "4242", "username": "chatops-bot", "bot": True})

    async def _create(self, request: web.Request) -> web.StreamResponse:
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        message = Posted(self._new_id(), request.match_info["channel"], None, [call.body])
        self.messages[message.id] = message
        return self._answer(message)

    async def _commands(self, request: web.Request) -> web.StreamResponse:
        """Bulk overwrite, as Discord does it: the list sent replaces the scope's commands."""
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        if call.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        scope = request.match_info.get("guild", "global")
        self.commands[scope] = [
            {**command, "id": self._new_id(), "application_id": request.match_info["app"]}
            for command in call.body
        ]
        return web.json_response(self.commands[scope])

    async def _about_message(self, request: web.Request) -> tuple[Call, Posted] | web.Response:
        """A request on an existing message: recorded, then refused or the message."""
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        message = self.messages.get(request.match_info["mid"])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return call, message

    async def _edit(self, request: web.Request) -> web.StreamResponse:
        found = await self._about_message(request)
        if isinstance(found, web.Response):
            return found
        call, message = found
        message.versions.append(call.body)
        return self._answer(message)

    async def _start_thread(self, request: web.Request) -> web.StreamResponse:
        found = await self._about_message(request)
        if isinstance(found, web.Response):
            return found
        call, message = found
        if message.thread_id:
            return _error(400, 160004, "A thread has already been created for this message")
        message.thread_id = message.id
        return web.json_response(
            {
                "id": message.id,
                "type": 11,
                "parent_id": message.channel_id,
                "name": call.body["name"],
            },
            status=201,
        )


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _nest(problem: str) -> dict[str, Any]:
    """``"a.b: why"`` as Discord nests it: ``{"a": {"b": {"_errors": [{"message": why}]}}}``."""
    path, _, why = problem.partition(": ")
    nested: dict[str, Any] = {"_errors": [{"code": "BASE_TYPE_BAD", "message": why}]}
    for key in reversed(path.split(".")):
        nested = {key: nested}
    return nested


def text_of(call: Call) -> str:
    """Everything a reader would see in a request, for assertions."""
    return json.dumps(call.body, ensure_ascii=False)
