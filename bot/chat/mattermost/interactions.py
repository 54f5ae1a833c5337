"""Mattermost front end for action buttons: attachment ``actions`` calling the bot back.

A click makes the Mattermost server post a ``PostActionIntegrationRequest`` (JSON:
``user_id``, ``user_name``, ``channel_id``, ``team_id``, ``team_domain``, ``post_id``,
``context``) to the button's ``integration.url``, ``POST /mattermost/actions``; see
https://developers.mattermost.com/integrate/plugins/interactive-messages/. Mattermost
signs nothing, so a click counts only when its context carries the HMAC the bot made
(``bot.chat.mattermost.signing``); the team must be a bound one, and the clicker one
``[actions] allowed`` names, as on every platform.

Mattermost waits for the answer (its outgoing integration timeout, 30 s by default),
which is within the action core's 5 s for the provider: the answer is the response,
``{"ephemeral_text": ...}`` for a refusal or a failure, which only the clicker sees.
The message itself is re-rendered through the outbox, as on every platform (edits of a
conversation stay in order and are retried there), so the response carries no
``update``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.mattermost.signing import verified
from bot.commands.actions import ActionCore, Answer, Click
from bot.config.settings import Settings

log = logging.getLogger("bot.mattermost")


def click_of(settings: Settings, request: dict[str, Any], action: str, value: str) -> Click:
    """Who pressed what, from the integration request (its context already verified)."""
    team = str(request.get("team_domain") or "")
    post = str(request.get("post_id") or "")
    server = settings.mattermost.url.rstrip("/")
    return Click(
        platform="mattermost",
        user=str(request.get("user_id") or ""),
        user_name=str(request.get("user_name") or ""),
        channel=str(request.get("channel_id") or ""),
        action=action,
        value=value,
        link=f"{server}/{team}/pl/{post}" if team and post and server else "",
        workspace=str(request.get("team_id") or ""),
    )


def endpoint(settings: Settings, actions_key: web.AppKey[ActionCore]) -> Any:
    async def actions(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            return web.json_response({"error": f"not JSON: {exc}"}, status=400)
        context = body.get("context") if isinstance(body, dict) else None
        found = verified(settings.mattermost.actions_secret, context)
        if found is None:
            log.warning("rejected", extra={"source": "mattermost", "reason": "bad context"})
            return web.json_response(
                {"error": "not a button this bot made (its context's signature is wrong)"},
                status=401,
            )
        click = click_of(settings, body, *found)
        try:
            answer = await request.app[actions_key].click(click)
        except Exception as exc:  # the clicker still hears; the log has the trace
            log.exception("click failed", extra={"action": click.action})
            answer = Answer(f"the click failed ({type(exc).__name__}); the bot's log says more")
        if not answer.text:
            return web.json_response({})  # the message's edit shows what happened
        # Escaped: a provider's words are shown as typed, and mention nobody.
        return web.json_response({"ephemeral_text": MattermostMarkup().escape(answer.text)})

    return actions
