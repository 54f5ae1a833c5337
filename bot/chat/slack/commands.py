"""Slack front end: ``/notify ...`` through slack-bolt's ``AsyncApp``.

HTTP mode answers ``POST /slack/commands`` and ``/slack/events`` on our own server (bolt
checks the signature and the timestamp window with ``[slack] signing_secret`` and
answers Slack's ``url_verification``); Socket Mode (``[slack] app_token``) needs no
public URL. Either way the reply is the ack itself, ephemeral, well inside Slack's three
seconds: the core only touches the store.

Every value bolt would read from ``SLACK_*`` variables is passed explicitly, and its
Web API client is ours (``[slack] api_url``, the process's one HTTP session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack import interactions
from bot.chat.slack.platform import http_mode, socket_mode
from bot.commands.actions import ActionCore
from bot.commands.core import CommandCore, Reply, answered
from bot.commands.permissions import Caller
from bot.config.settings import Settings

# slack-bolt costs a twentieth of a CPU second to import: it is imported where the bolt
# app is built or used, so a bot without Slack commands (most) never imports it.
if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger("bot.slack")

BOLT: web.AppKey[AsyncApp] = web.AppKey("slack_bolt")
VERIFIER = web.AppKey("slack_verifier", SignatureVerifier)
# Any slash command the app is sent: the workspace may have renamed /notify.
ANY_COMMAND = re.compile(r"^/")
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")


def slack_text(reply: Reply) -> str:
    """The reply as Slack mrkdwn: ``&<>`` escaped (nothing typed can ping), tables
    in a code block so the columns line up."""
    text = reply.text
    if reply.table:
        text += f"\n```\n{reply.table_text()}\n```"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def caller_of(body: dict[str, Any]) -> Caller:
    """Who typed a slash command, from Slack's form fields."""
    return Caller(
        "slack",
        str(body.get("user_id", "")),
        str(body.get("user_name", "")),
        str(body.get("channel_id", "")),
        str(body.get("channel_name", "")),
        workspace=str(body.get("team_id", "")),
    )


def build_bolt(
    settings: Settings,
    core: CommandCore,
    session: aiohttp.ClientSession,
    actions: ActionCore | None = None,
) -> AsyncApp:
    from slack_bolt.async_app import AsyncApp

    client = AsyncWebClient(
        token=settings.slack.bot_token,
        base_url=settings.slack.api_url,
        session=session,
        timeout=10,
    )
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.slack.signing_secret,
        logger=logging.getLogger("bot.slack.bolt"),
        name="chatops-bot",
    )

    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        reply = await answered(
            core.run(str(body.get("text", "")), caller_of(body)), command=body.get("command")
        )
        await ack(response_type="ephemeral", text=slack_text(reply))

    async def on_mention(ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        """``@bot mute ...`` works like ``/notify mute ...``; the answer is ephemeral."""
        await ack()
        caller = Caller(
            "slack",
            str(event.get("user", "")),
            "",
            str(event.get("channel", "")),
            workspace=str(body.get("team_id", "")),
        )
        reply = await core.run(_MENTION.sub("", str(event.get("text", ""))), caller)
        await client.chat_postEphemeral(
            channel=caller.channel, user=caller.user, text=slack_text(reply)
        )

    bolt.command(ANY_COMMAND)(on_command)
    bolt.event("app_mention")(on_mention)
    interactions.acknowledge_links(bolt)
    if actions is not None:
        interactions.register(bolt, actions)
    return bolt


def _refused(status: int, reason: str) -> web.Response:
    log.warning("rejected", extra={"source": "slack", "reason": reason})
    return web.json_response({"error": reason}, status=status)


async def receive(request: web.Request) -> web.Response:
    """``/slack/commands``, ``/slack/events`` and ``/slack/interactions``: verified here,
    then bolt dispatches.

    Verifying before bolt sees the request keeps bolt's own refusal out of the log: it
    writes the signature and the whole body of every badly signed request.
    """
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    body = await request.read()
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    readable = timestamp.isascii() and timestamp.isdigit()
    if not (readable and request.app[VERIFIER].is_valid(body, timestamp, signature)):
        return _refused(401, "invalid request signature (check [slack] signing_secret)")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(400, "the body is not UTF-8")
    bolt = request.app[BOLT]
    response = await bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)


def add_routes(app: web.Application, settings: Settings) -> None:
    """Mount the endpoints only when Slack is configured (else they answer 404)."""
    if http_mode(settings):
        app[VERIFIER] = SignatureVerifier(settings.slack.signing_secret)
        app.router.add_post("/slack/commands", receive)
        app.router.add_post("/slack/events", receive)
        app.router.add_post("/slack/interactions", receive)


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    core: CommandCore,
    session: aiohttp.ClientSession,
    actions: ActionCore | None = None,
) -> AsyncIterator[AsyncApp]:
    """The bolt app for the server's lifetime, connected over Socket Mode when set up."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    bolt = build_bolt(settings, core, session, actions)
    if not socket_mode(settings):
        yield bolt
        return
    handler = AsyncSocketModeHandler(bolt, app_token=settings.slack.app_token)
    # connect() retries until Slack answers: never hold up the rest of the start.
    connecting = asyncio.create_task(
        handler.connect_async(),  # type: ignore[no-untyped-call]
        name="slack-socket-mode",
    )
    log.info("slack socket mode connecting")
    try:
        yield bolt
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await handler.close_async()  # type: ignore[no-untyped-call]
