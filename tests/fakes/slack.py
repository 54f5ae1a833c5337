"""A fake Slack Web API on loopback: records every call, answers like Slack.

Tests script failures of the bot's posts and edits (``chat.*``) with ``fail_next``: a
status code, a Slack error, headers; the start-up checks' reads are never scripted.
``hold()`` keeps answers back (the message is posted, the bot does not learn it yet), and
``limit_channels()`` enforces Slack's per-channel pace with real 429s.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def title(self) -> str:
        """The card's title as a reader sees it: the bold (linked) first line of the
        attachment; the top-level ``text`` is only the notification line."""
        for attachment in self.body.get("attachments") or []:
            for block in attachment.get("blocks") or []:
                text = (block.get("text") or {}).get("text", "")
                if text.startswith("*"):
                    first = text.split("\n", 1)[0].strip("*")
                    return first.split("|", 1)[1].rstrip(">") if "|" in first else first
        return ""


@dataclass
class Scripted:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    channel: str | None = None
    """Only calls to this channel (as the bot names it) fail; others pass it by."""


@dataclass
class ChannelBucket:
    """Slack's chat.postMessage pace per channel: about one a second, short bursts."""

    tokens: float
    updated: float


def blocks_problem(body: dict[str, Any]) -> str | None:
    """What Slack would refuse in a message's ``actions`` blocks, or None (Block Kit
    reference, "Actions block" and "Button element": up to 25 elements; a button's text
    is plain text of up to 75 characters, its ``url`` up to 3,000, its ``action_id``
    unique within the message)."""
    attachments = body.get("attachments") or []
    blocks = [b for a in attachments if isinstance(a, dict) for b in a.get("blocks") or []]
    seen: set[str] = set()
    for block in (b for b in blocks if b.get("type") == "actions"):
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            return "must provide between 1 and 25 elements [json-pointer:/blocks/elements]"
        for element in elements:
            text = element.get("text") or {}
            if text.get("type") != "plain_text" or not 0 < len(str(text.get("text"))) <= 75:
                return "button text must be plain_text of 1 to 75 characters"
            if len(str(element.get("url", ""))) > 3000:
                return "must be less than 3001 characters [json-pointer:/url]"
            if element.get("action_id") in seen:
                return "action_id must be unique within the message"
            seen.add(str(element.get("action_id")))
    return None


class FakeSlack:
    def __init__(self, token: str = "xoxb-test-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.delay = 0.0
        """Seconds before answering; the call is recorded (posted) on arrival."""
        self.rate_limited: list[Call] = []
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        """What ``Call.at`` and the channel pace count in (a ``FakeClock``'s monotonic)."""
        self._released = asyncio.Event()
        self._released.set()
        self._limit: tuple[float, float] | None = None
        self._buckets: dict[str, ChannelBucket] = {}
        self._ts = 1_700_000_000_000
        # (channel id, ts) -> every body the message was given; replies by parent.
        self.messages: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.arrived = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._handle)
        self.app.router.add_get("/socket", self._socket)
        self.url = ""
        self.app_token = "xapp-test-token"
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_open = asyncio.Event()
        self.socket_replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.channels: dict[str, dict[str, Any]] = {}
        """Channels ``conversations.info`` knows, by id (``is_member``...); others are
        ``channel_not_found``, as Slack answers for a private channel the bot is not in."""

    def fail_next(self, times: int = 1, **scripted: Any) -> None:
        self.script.extend(Scripted(**scripted) for _ in range(times))

    def hold(self) -> None:
        """Post messages but keep every answer back until ``release()``."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def limit_channels(self, per_second: float = 1.0, burst: float = 5.0) -> None:
        """Answer 429 + Retry-After to posts above ``per_second`` per channel."""
        self._limit = (per_second, burst)

    def _over_limit(self, channel: str, now: float) -> float:
        """0 when a post to ``channel`` may go now, else the seconds to wait."""
        if self._limit is None:
            return 0.0
        rate, burst = self._limit
        bucket = self._buckets.setdefault(channel, ChannelBucket(burst, now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate

    def channel_id(self, channel: str) -> str:
        if channel.startswith("#"):
            return "C" + hashlib.sha1(channel.encode()).hexdigest()[:8].upper()
        return channel

    def posts(self, method: str = "chat.postMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, count: int, method: str = "chat.postMessage", timeout: float = 10):
        async def enough() -> None:
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.posts(method)) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.posts(method)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        scripted_for = [s for s in self.script if s.channel in (None, body.get("channel"))]
        if scripted_for and method.startswith("chat."):
            scripted = scripted_for[0]
            self.script.remove(scripted)
            await asyncio.sleep(self.delay)
            self.calls.append(
                Call(
                    method + ":failed",
                    body,
                    dict(request.headers),
                    self.clock(),
                )
            )
            if scripted.raw is not None:
                return web.Response(
                    status=scripted.status, text=scripted.raw, headers=scripted.headers
                )
            payload = {"ok": False, "error": scripted.error or "internal_error"}
            return web.json_response(payload, status=scripted.status, headers=scripted.headers)
        if method == "apps.connections.open":
            return self._open_socket(request)
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":  # slack-bolt asks once, on its first request
            return web.json_response(
                {
                    "ok": True,
                    "team": "Fake Workspace",
                    "user": "chatops",
                    "team_id": "T0FAKE",
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                }
            )
        if method == "conversations.info":
            found = self.channels.get(str(body.get("channel") or request.query.get("channel")))
            if found is None:
                return web.json_response({"ok": False, "error": "channel_not_found"})
            return web.json_response({"ok": True, "channel": found})
        if method.startswith("chat.") and (problem := blocks_problem(body)):
            self.calls.append(Call(method + ":failed", body, dict(request.headers), self.clock()))
            return web.json_response({"ok": False, "error": "invalid_blocks", "errors": [problem]})
        now = self.clock()
        channel = self.channel_id(str(body.get("channel", "")))
        if method == "chat.postMessage" and (wait := self._over_limit(channel, now)):
            self.rate_limited.append(Call(method, body, dict(request.headers), now))
            retry_after = {"Retry-After": str(math.ceil(wait))}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=retry_after
            )
        async with self.arrived:
            self.calls.append(Call(method, body, dict(request.headers), now))
            self.arrived.notify_all()
        # Posted from here on, as in Slack: a slow or held answer does not undo it.
        await asyncio.sleep(self.delay)
        await self._released.wait()
        if method == "chat.update":
            # Like Slack, an update needs the channel id chat.postMessage answered with.
            versions = self.messages.get((str(body.get("channel")), str(body.get("ts"))))
            if versions is None:
                return web.json_response({"ok": False, "error": "message_not_found"})
            versions.append(body)
            return web.json_response({"ok": True, "channel": channel, "ts": body.get("ts")})
        self._ts += 1
        ts = f"{self._ts // 1000}.{self._ts % 1000:06d}"
        if method == "chat.postMessage" and body.get("thread_ts"):
            self.replies.setdefault((channel, str(body["thread_ts"])), []).append(body)
        elif method == "chat.postMessage":
            self.messages[(channel, ts)] = [body]
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}}
        )

    # -- Socket Mode: apps.connections.open hands out a WebSocket on this server ----------

    def _open_socket(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != f"Bearer {self.app_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        url = request.url.with_scheme("ws").with_path("/socket").with_query(None)
        return web.json_response({"ok": True, "url": str(url)})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.socket_open.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self.socket_replies.put(json.loads(message.data))
        return socket

    async def socket_send(self, envelope: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send an envelope as Slack would and return the app's acknowledgement."""
        await asyncio.wait_for(self.socket_open.wait(), timeout)
        await self.sockets[-1].send_json(envelope)
        return await asyncio.wait_for(self.socket_replies.get(), timeout)

    @staticmethod
    def text_of(call: Call) -> str:
        """Everything a reader would see in a posted message, for assertions."""
        return json.dumps(call.body, ensure_ascii=False)
