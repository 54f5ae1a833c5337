"""A fake Microsoft Teams Workflows webhook on loopback: records every card, answers
like the Power Automate trigger behind a "Post to a channel when a webhook request is
received" workflow.

It follows the documented requests and answers:

- https://support.microsoft.com/office/8ae491c7-0394-4861-ba59-055e33f75498 (creating
  the workflow; the URL with its ``api-version``, ``sp``, ``sv`` and ``sig`` query)
- https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
  (the ``{"type": "message", "attachments": [...]}`` body, the 28 KB message limit, 429)
- https://learn.microsoft.com/power-automate/limits-and-config (throttling: 429 with
  ``Retry-After``)
- https://adaptivecards.io/explorer/ (``AdaptiveCard`` 1.4, ``Container.style``,
  ``FactSet``, ``Action.OpenUrl``)
- https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format
  (a mention is an ``<at>`` with an ``msteams.entities`` entry, nothing else)

A trigger accepts with 202 and an empty body; a wrong ``sig`` is a 401, a deleted
workflow a 404, errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WORKFLOW = "8f0c2d1e6b7a4c3d9e5f1a2b3c4d5e6f"
SIG = "tEsT-sIg_Value0123456789"
MAX_BYTES = 28 * 1024
CARD = "application/vnd.microsoft.card.adaptive"
STYLES = frozenset({"default", "emphasis", "good", "attention", "warning", "accent"})


@dataclass
class Call:
    workflow: str
    query: dict[str, str]
    body: Any
    size: int
    status: int = 202
    at: float = 0.0


@dataclass
class Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def card_problem(body: Any) -> str | None:
    """What Teams would refuse about a webhook body, or None."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "the body must be a message"
    attachments = body.get("attachments") or []
    if len(attachments) != 1 or attachments[0].get("contentType") != CARD:
        return "exactly one Adaptive Card attachment"
    card = attachments[0].get("content") or {}
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        return "content must be an AdaptiveCard, version 1.4"
    for element in card.get("body") or []:
        if element.get("type") == "Container" and element.get("style") not in STYLES:
            return f"unknown container style {element.get('style')!r}"
    for action in card.get("actions") or []:
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith(
            "http"
        ):
            return "an action that is not an Action.OpenUrl to a web address"
    return None


def texts(card: dict[str, Any]) -> list[str]:
    """Every text a reader sees in a card: text blocks, facts, action titles."""
    found: list[str] = []

    def walk(element: Any) -> None:
        if isinstance(element, dict):
            if element.get("type") == "TextBlock":
                found.append(str(element.get("text", "")))
            for fact in element.get("facts") or []:
                found.extend([str(fact.get("title", "")), str(fact.get("value", ""))])
            for key in ("body", "items", "columns"):
                for child in element.get(key) or []:
                    walk(child)

    walk(card)
    return found


class FakeTeams:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.workflows = {WORKFLOW}
        """Workflows that exist (one per channel they post into)."""
        self.arrived = asyncio.Condition()
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        """What ``Call.at`` counts in (a ``FakeClock``'s monotonic)."""
        self.url = ""
        """The server's root; ``webhook_url`` is what a person copies from Teams."""
        self.app = web.Application(client_max_size=4 * 1024 * 1024)
        self.app.router.add_post("/workflows/{workflow}/triggers/manual/paths/invoke", self._invoke)

    def webhook_url(self, workflow: str = WORKFLOW) -> str:
        """The URL a person copies from Teams for ``workflow`` (which then exists)."""
        self.workflows.add(workflow)
        return (
            f"{self.url}/workflows/{workflow}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
        )

    def fail_next(
        self, times: int = 1, *, status: int, headers: dict[str, str] | None = None
    ) -> None:
        self.script.extend(Scripted(status, headers or {}) for _ in range(times))

    def cards(self, workflow: str | None = None) -> list[dict[str, Any]]:
        """Every card posted (by ``workflow`` only, if given), in order."""
        return [
            c.body["attachments"][0]["content"]
            for c in self.calls
            if c.status == 202 and workflow in (None, c.workflow)
        ]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> None:
            async with self.arrived:
                await self.arrived.wait_for(check)

        await asyncio.wait_for(satisfied(), timeout)
        return check()

    async def _invoke(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        call = Call(
            request.match_info["workflow"], dict(request.query), body, len(raw), at=self.clock()
        )
        answer = self._answer(call)
        call.status = answer.status
        async with self.arrived:
            self.calls.append(call)
            self.arrived.notify_all()
        return answer

    def _answer(self, call: Call) -> web.Response:
        if self.script:
            scripted = self.script.pop(0)
            return _error(scripted.status, "Scripted", "scripted failure", scripted.headers)
        if call.workflow not in self.workflows:
            return _error(404, "WorkflowNotFound", "The workflow could not be found.")
        if call.query.get("sig") != SIG:
            return _error(
                401, "DirectApiAuthorizationRequired", "The request must be authenticated."
            )
        if call.size > MAX_BYTES:
            return _error(413, "MessageSizeTooBig", "The message is too large.")
        if problem := card_problem(call.body):
            return _error(400, "InvalidRequestContent", problem)
        return web.Response(status=202)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
