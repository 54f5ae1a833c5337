"""Fake PagerDuty, GitHub and Grafana APIs on loopback: record every call, answer as
scripted.

``answer(status, body)`` sets what the next calls get (200 by default, 403 with the
provider's error body, 500); ``hold()`` keeps every answer back until ``release()`` (a
provider still working when a second click comes, or one that never answers in time).
"""

from __future__ import annotations

import asyncio
import uuid
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
        self.released = asyncio.Event()
        self.released.set()
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._handle)
        self.url = ""

    def answer(self, status: int, body: Any = None) -> None:
        self.status, self.body = status, body

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        body = await request.json() if text else None
        self.calls.append(ApiCall(request.method, request.path, dict(request.headers), body))
        await self.released.wait()
        return self.respond(request, body)

    def respond(self, request: web.Request, body: Any) -> web.Response:
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


GRAFANA_SILENCES = "/api/alertmanager/grafana/api/v2/silences"
"""Grafana's own Alertmanager (``grafana`` is its datasource uid), API v2 under /api."""


class FakeGrafana(FakeApi):
    """Grafana's Alertmanager API for silences, as its HTTP API docs and handlers answer.

    A request needs ``Authorization: Bearer <token>`` of a service account (else 401
    ``api-key.invalid``, ``pkg/services/authn/clients/api_key.go``); creating a silence
    needs ``alert.silences:create`` and expiring one ``alert.silences:write`` (else 403,
    the access-control answer). ``POST .../silences`` answers 202 with the new
    ``silenceID`` (``RoutePostSilence``), ``DELETE .../silence/{id}`` 200 ``silence
    deleted``; ``GET .../silences`` lists them with their state.
    """

    def __init__(self, token: str) -> None:
        super().__init__(None)
        self.token = token
        self.permissions = {"alert.silences:create", "alert.silences:write"}
        self.silences: dict[str, dict[str, Any]] = {}

    def respond(self, request: web.Request, body: Any) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {
                    "message": "Invalid API key",
                    "messageId": "api-key.invalid",
                    "statusCode": 401,
                    "traceID": "",
                },
                status=401,
            )
        if request.method == "GET" and request.path == GRAFANA_SILENCES:
            return web.json_response(list(self.silences.values()))
        if request.method == "POST" and request.path == GRAFANA_SILENCES:
            return self._allowed("alert.silences:create") or self._create(body)
        prefix = GRAFANA_SILENCES.removesuffix("s") + "/"
        if request.method == "DELETE" and request.path.startswith(prefix):
            return self._allowed("alert.silences:write") or self._expire(
                request.path.removeprefix(prefix)
            )
        return web.json_response({"message": "Not found"}, status=404)

    def _allowed(self, permission: str) -> web.Response | None:
        if permission in self.permissions:
            return None
        return web.json_response(
            {
                "accessErrorId": "ACE0123456789",
                "message": "You'll need additional permissions to perform this action. "
                f"Permissions needed: {permission}",
                "title": "Access denied",
            },
            status=403,
        )

    def _create(self, body: Any) -> web.Response:
        silence = str(uuid.uuid4())
        self.silences[silence] = {**body, "id": silence, "status": {"state": "active"}}
        return web.json_response({"silenceID": silence}, status=202)

    def _expire(self, silence: str) -> web.Response:
        if silence not in self.silences:
            return web.json_response({"message": "silence not found"}, status=404)
        self.silences[silence]["status"] = {"state": "expired"}
        return web.json_response({"message": "silence deleted"})
