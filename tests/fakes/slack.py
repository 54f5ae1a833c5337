"""A fake Slack Web API on loopback: records every call, answers like Slack.

Tests script failures with ``fail_next``: a status code, a Slack error, headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class Scripted:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


class FakeSlack:
    def __init__(self, token: str = "xoxb-test-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.delay = 0.0
        self._ts = 1_700_000_000_000
        self.arrived = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._handle)
        self.url = ""

    def fail_next(self, times: int = 1, **scripted: Any) -> None:
        self.script.extend(Scripted(**scripted) for _ in range(times))

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
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            scripted = self.script.pop(0)
            self.calls.append(
                Call(
                    method + ":failed",
                    body,
                    dict(request.headers),
                    asyncio.get_running_loop().time(),
                )
            )
            if scripted.raw is not None:
                return web.Response(
                    status=scripted.status, text=scripted.raw, headers=scripted.headers
                )
            payload = {"ok": False, "error": scripted.error or "internal_error"}
            return web.json_response(payload, status=scripted.status, headers=scripted.headers)
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        async with self.arrived:
            self.calls.append(
                Call(method, body, dict(request.headers), asyncio.get_running_loop().time())
            )
            self.arrived.notify_all()
        channel = self.channel_id(str(body.get("channel", "")))
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": channel, "ts": body.get("ts")})
        self._ts += 1
        ts = f"{self._ts // 1000}.{self._ts % 1000:06d}"
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}}
        )

    @staticmethod
    def text_of(call: Call) -> str:
        """Everything a reader would see in a posted message, for assertions."""
        return json.dumps(call.body, ensure_ascii=False)
