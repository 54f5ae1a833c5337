"""Mattermost front end: a ``/notify`` slash command posting to ``POST /mattermost/commands``.

Mattermost sends the command as a form with the command's ``token`` (shown when the
slash command is created), compared here in constant time with ``[mattermost]
command_token``. The answer is the response itself, ``response_type: ephemeral``: only
the person who typed the command sees it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from bot.chat.mattermost import interactions
from bot.chat.mattermost.platform import MATTERMOST
from bot.chat.mattermost.signing import ACTIONS_PATH
from bot.commands.actions import ActionCore
from bot.commands.binding import Workspaces
from bot.commands.core import CommandCore, Reply, answered
from bot.commands.permissions import Caller
from bot.config.settings import Settings
from bot.core.errors import DeliveryError, LookupFailed
from bot.core.text import shorten

log = logging.getLogger("bot.mattermost")

TEXT_LIMIT = 16_000


def verified(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def caller_of(form: Mapping[str, Any]) -> Caller:
    return Caller(
        "mattermost",
        str(form.get("user_id", "")),
        str(form.get("user_name", "")),
        str(form.get("channel_id", "")),
        str(form.get("channel_name", "")),
        workspace=str(form.get("team_id", "")),
    )


def workspaces(settings: Settings, session: aiohttp.ClientSession) -> Workspaces:
    """A team is Mattermost's workspace: the teams of the channel targets, asked once."""
    from bot.chat.mattermost.adapter import MattermostAdapter

    adapter = MattermostAdapter(settings.mattermost.url, settings.mattermost.bot_token, session)

    async def home(channel: str) -> str:
        try:
            answer = await adapter.ask(f"/channels/{channel}")
        except DeliveryError as exc:
            raise LookupFailed(exc.reason) from None
        return str(answer.get("team_id", "")) if isinstance(answer, dict) else ""

    async def own() -> frozenset[str]:
        channels = [t.address for t in settings.targets.values() if t.key == "mattermost"]
        teams = [await home(channel) for channel in channels]
        return frozenset(team for team in teams if team)

    return Workspaces("team", "[mattermost] team_ids", own, home)


def mattermost_text(reply: Reply) -> str:
    """The reply as Mattermost markdown; a table in a code block so columns line up."""
    text = reply.text
    if reply.table:
        text += f"\n```\n{reply.table_text()}\n```"
    if len(text) > TEXT_LIMIT:
        text = shorten(text, TEXT_LIMIT - 4, tidy=str.rstrip) + ("\n```" if reply.table else "")
    return text


def endpoint(settings: Settings, core_key: web.AppKey[CommandCore]) -> Any:
    async def commands(request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except ValueError as exc:
            return web.json_response({"error": f"not a form: {exc}"}, status=400)
        if not verified(settings.mattermost.command_token, str(form.get("token", ""))):
            log.warning("rejected", extra={"source": "mattermost", "reason": "bad token"})
            return web.json_response(
                {"error": "wrong or missing token (see [mattermost] command_token)"}, status=401
            )
        reply = await answered(
            request.app[core_key].run(str(form.get("text", "")), caller_of(form))
        )
        return web.json_response({"response_type": "ephemeral", "text": mattermost_text(reply)})

    return commands


def add_routes(
    app: web.Application,
    settings: Settings,
    core_key: web.AppKey[CommandCore],
    actions_key: web.AppKey[ActionCore] | None = None,
) -> None:
    """Mount ``/mattermost/commands`` only when ``[mattermost] command_token`` is set, and
    ``/mattermost/actions`` (button clicks) only where bot posts carry action buttons."""
    if settings.mattermost.command_token:
        app.router.add_post("/mattermost/commands", endpoint(settings, core_key))
    if actions_key is not None and MATTERMOST.takes_clicks(settings):
        app.router.add_post(ACTIONS_PATH, interactions.endpoint(settings, actions_key))
