"""The chat server the gallery posts to: one HTTP server on 127.0.0.1 that records every
call an adapter makes and answers it as the platform would (``Preview.answer``).

Each registered platform with a preview gets its own prefix (``/slack``, ``/discord``...),
and the settings it needs to post there come from its preview, so the real adapters run
unchanged: what is recorded is exactly what they would send to the real service.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.chat import registry
from bot.chat.preview import Call

HOST = "127.0.0.1"


class Recorder:
    """Every call, by platform, in the order the adapters made them."""

    def __init__(self) -> None:
        self.calls: dict[str, list[Call]] = {name: [] for name in registry.PLATFORMS}
        self.url = ""

    def base(self, platform: str) -> str:
        return f"{self.url}/{platform}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        platform = request.match_info["platform"]
        known = registry.PLATFORMS.get(platform)
        if known is None or known.preview is None:
            return web.json_response({"error": "unknown platform"}, status=404)
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = Call(request.method, "/" + request.match_info["tail"], dict(request.query), body)
        calls = self.calls.setdefault(platform, [])
        status, answer = known.preview.answer(call, len(calls))
        calls.append(dataclasses.replace(call, answered=answer))
        if answer is None:
            return web.Response(status=status)
        return web.json_response(answer, status=status)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Recorder]:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{platform}/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://{HOST}:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()

    def chat_config(self) -> dict[str, Any]:
        """The config sections and one target per platform (named after it) that post here."""
        sections: dict[str, Any] = {}
        targets: dict[str, dict[str, str]] = {}
        for name, platform in registry.PLATFORMS.items():
            if platform.preview is None:
                continue
            sections.update(platform.preview.config(self.base(name)))
            targets[name] = platform.preview.target(self.base(name))
        return {**sections, "targets": targets}
