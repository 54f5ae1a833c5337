"""Fake PagerDuty and GitHub REST APIs on loopback: record every call, answer as scripted.

``answer(status, body)`` sets what the next calls get (200 by default, 403 with the
provider's error body, 500); ``slow`` seconds hold each answer back (past the action
core's 5 s timeout: a provider that does not answer).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class ApiCall:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeApi:
    def __init__(self, ok_body: Any, ok_status: int = 200) -> None:
        self.calls: list[ApiCall] = []
        self.status = ok_status
        self.body: Any = ok_body
        self.slow = 0.0
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._handle)
        self.url = ""

    def answer(self, status: int, body: Any = None) -> None:
        self.status, self.body = status, body

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        body = await request.json() if text else None
        self.calls.append(ApiCall(request.method, request.path, dict(request.headers), body))
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.body is None:
            return web.Response(status=self.status)
        return web.json_response(self.body, status=self.status)


def fake_pagerduty() -> FakeApi:
    """``PUT /incidents/{id}`` answers with the incident in the status asked for."""
    return FakeApi({"incident": {"id": "PFQZPSY", "status": "acknowledged"}})


PAGERDUTY_FORBIDDEN = {
    "error": {
        "message": "Access Denied",
        "code": 2010,
        "errors": ["this API key cannot write incidents"],
    }
}


def fake_github() -> FakeApi:
    """``POST .../rerun-failed-jobs`` answers 201 without a body, as GitHub does."""
    return FakeApi(None, 201)
