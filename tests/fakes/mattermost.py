"""A fake Mattermost server on loopback: the REST API's posts and incoming webhooks.

It follows Mattermost's documented requests and answers:

- https://api.mattermost.com/#tag/posts/operation/CreatePost (``channel_id``,
  ``message``, ``root_id``, ``props.attachments``; 201 with the post)
- https://api.mattermost.com/#tag/posts/operation/PatchPost
- https://api.mattermost.com/#section/Schema (error bodies: ``id``, ``message``,
  ``status_code``)
- https://developers.mattermost.com/integrate/webhooks/incoming/ (answers ``ok``)
- https://developers.mattermost.com/integrate/reference/message-attachments/
- https://docs.mattermost.com/configure/rate-limiting-configuration-settings.html
  (429 with ``X-Ratelimit-Reset``)
- https://developers.mattermost.com/integrate/plugins/interactive-messages/ (attachment
  ``actions`` of ``type: button`` with ``integration.url`` and ``context``; a click makes
  the server post a ``PostActionIntegrationRequest`` to that URL: ``user_id``,
  ``user_name``, ``channel_id``, ``channel_name``, ``team_id``, ``team_domain``,
  ``post_id``, ``trigger_id``, ``type``, ``data_source``, ``context``, as
  server/public/model/integration_action.go declares it; the server routes the click by
  ``/posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}``, so any other action id 404s)

It keeps every post with its versions and its thread, records every call, and plays
scripted failures with ``fail_next``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "mattermost-bot-token"
HOOK_ID = "hk7sd3f8bpgm5e9nq1x4ctyzwa"
TEAM_ID = "team0id0000000000000000000"
TEAM_DOMAIN = "acme"


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int = 200
    at: float = 0.0


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    match: str


@dataclass
class Posted:
    id: str
    channel_id: str
    versions: list[dict[str, Any]]
    root_id: str = ""
    webhook: bool = False
    replies: list[dict[str, Any]] = field(default_factory=list)


def api_error(status: int, error_id: str, message: str) -> dict[str, Any]:
    return {"id": error_id, "message": message, "detailed_error": "", "status_code": status}


class FakeMattermost:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.posts: dict[str, Posted] = {}
        self.missing: set[str] = set()
        """Channels that do not exist (404)."""
        self.hooks = {HOOK_ID: "webhookchannel000000000000"}
        """Incoming webhooks and the channel each posts into."""
        self._ids = (f"{n:026d}" for n in itertools.count(1))
        self.arrived = asyncio.Condition()
        self.clock: Callable[[], float] = asyncio.get_running_loop().time
        """What ``Call.at`` counts in (a ``FakeClock``'s monotonic)."""
        self.url = ""
        self.app = web.Application()
        self.app.router.add_post("/api/v4/posts", self._create)
        self.app.router.add_put("/api/v4/posts/{id}/patch", self._patch)
        self.app.router.add_post("/hooks/{hook}", self._hook)
        self.app.router.add_get("/api/v4/channels/{id}", self._channel)
        self.app.router.add_get("/api/v4/users/me", self._me)

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        match: str = "",
    ) -> None:
        """The next ``times`` calls whose ``"METHOD path channel"`` contains ``match`` fail."""
        body = body or api_error(status, "api.fake.scripted", "scripted failure")
        self.script.extend(Scripted(status, body, headers or {}, match) for _ in range(times))

    def roots(self, channel: str | None = None) -> list[Posted]:
        return [
            p
            for p in self.posts.values()
            if not p.root_id and (channel is None or p.channel_id == channel)
        ]

    def action_request(
        self, post: Posted, action_id: str, user_id: str, user_name: str, team_id: str = TEAM_ID
    ) -> tuple[str, dict[str, Any]]:
        """What the server posts, and where, when ``user_id`` presses the button
        ``action_id`` of ``post`` (as the post shows it now). Raises ``LookupError`` where
        the server would answer 404 (no such action, or an id its route refuses)."""
        if not action_id.isalnum() or not action_id.isascii():
            raise LookupError(f"404: /posts/{post.id}/actions/{action_id} matches no route")
        attachments = post.versions[-1].get("props", {}).get("attachments") or []
        for action in (a for attachment in attachments for a in attachment.get("actions") or []):
            if action.get("id") != action_id:
                continue
            integration = action.get("integration") or {}
            return str(integration.get("url", "")), {
                "user_id": user_id,
                "user_name": user_name,
                "channel_id": post.channel_id,
                "channel_name": "eng",
                "team_id": team_id,
                "team_domain": TEAM_DOMAIN,
                "post_id": post.id,
                "trigger_id": "trigger-id",
                "type": "button",
                "data_source": "",
                "context": integration.get("context") or {},
            }
        raise LookupError(f"404: post {post.id} has no action {action_id}")

    def delivered(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status < 300]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> None:
            async with self.arrived:
                await self.arrived.wait_for(check)

        await asyncio.wait_for(satisfied(), timeout)
        return check()

    # -- handlers ---------------------------------------------------------------

    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        body = await request.json()
        call = Call(request.method, request.path, body, at=self.clock())
        answer = self._scripted(call) or self._refused(request, call)
        if answer is not None:
            call.status = answer.status
        async with self.arrived:
            self.calls.append(call)
            self.arrived.notify_all()
        return call, answer

    def _scripted(self, call: Call) -> web.Response | None:
        channel = call.body.get("channel_id", "") if isinstance(call.body, dict) else ""
        for number, scripted in enumerate(self.script):
            if scripted.match in f"{call.method} {call.path} {channel}":
                del self.script[number]
                return web.json_response(
                    scripted.body, status=scripted.status, headers=scripted.headers
                )
        return None

    def _refused(self, request: web.Request, call: Call) -> web.Response | None:
        if call.path.startswith("/hooks/"):
            return None
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response(
                api_error(
                    401,
                    "api.context.session_expired.app_error",
                    "Invalid or expired session, please login again.",
                ),
                status=401,
            )
        return None

    async def _create(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        body = call.body
        channel = str(body.get("channel_id", ""))
        if channel in self.missing:
            call.status = 404
            return web.json_response(
                api_error(
                    404,
                    "app.channel.get.existing.app_error",
                    "Unable to find the existing channel.",
                ),
                status=404,
            )
        root_id = str(body.get("root_id") or "")
        root = self.posts.get(root_id) if root_id else None
        if root_id and root is None:
            call.status = 400
            return web.json_response(
                api_error(
                    400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter."
                ),
                status=400,
            )
        post = Posted(next(self._ids), channel, [body], root_id)
        self.posts[post.id] = post
        if root is not None:
            root.replies.append(body)
        return web.json_response(_post(post), status=201)

    async def _patch(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        post = self.posts.get(request.match_info["id"])
        if post is None:
            call.status = 404
            return web.json_response(
                api_error(404, "app.post.get.app_error", "Unable to get the post."), status=404
            )
        post.versions.append({**post.versions[-1], **call.body})
        return web.json_response(_post(post))

    async def _me(self, request: web.Request) -> web.Response:
        """Get the token's user (https://api.mattermost.com/#tag/users/operation/GetUser)."""
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response(
                api_error(
                    401, "api.context.session_expired.app_error", "Invalid or expired session."
                ),
                status=401,
            )
        return web.json_response({"id": "bot0user0id000000000000000", "username": "chatops"})

    async def _channel(self, request: web.Request) -> web.Response:
        """Get a channel (https://api.mattermost.com/#tag/channels/operation/GetChannel):
        every channel is in team ``TEAM_ID``, but ``missing`` ones. Not a recorded call."""
        channel = request.match_info["id"]
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}" or channel in self.missing:
            return web.json_response(
                api_error(
                    404,
                    "app.channel.get.existing.app_error",
                    "Unable to find the existing channel.",
                ),
                status=404,
            )
        return web.json_response(
            {"id": channel, "team_id": TEAM_ID, "name": channel[:8], "type": "O"}
        )

    async def _hook(self, request: web.Request) -> web.Response:
        call, refused = await self._record(request)
        if refused is not None:
            return refused
        channel = self.hooks.get(request.match_info["hook"])
        if channel is None:
            call.status = 400
            return web.json_response(
                api_error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook."),
                status=400,
            )
        post = Posted(next(self._ids), channel, [call.body], webhook=True)
        self.posts[post.id] = post
        return web.Response(text="ok", content_type="text/plain")


def _post(post: Posted) -> dict[str, Any]:
    latest = post.versions[-1]
    return {
        "id": post.id,
        "channel_id": post.channel_id,
        "root_id": post.root_id,
        "message": latest.get("message", ""),
        "props": latest.get("props", {}),
        "create_at": 1_700_000_000_000,
    }
