"""Discord front end: ``/notify`` as an application command with subcommands.

Discord posts each use to ``POST /discord/interactions``, signed with Ed25519 over
timestamp + body (``[discord] public_key``); a wrong signature gets 401, as Discord's
own endpoint check expects. PING gets PONG; a command is answered in the response
itself (type 4) with flags 64, so only the person who typed it sees the reply.

``register`` sends the command definitions (``COMMAND``) to the REST API, which is what
``python -m bot discord register-commands`` does.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bot.chat.discord import interactions as components
from bot.commands.actions import ActionCore
from bot.commands.core import CommandCore, Reply, answered
from bot.commands.grammar import (
    SUMMARY,
    Command,
    CommandError,
    Help,
    ListOverrides,
    Mute,
    Replay,
    Reroute,
    SendTest,
    Status,
    Unmute,
    Unroute,
    Vocabulary,
    Why,
    parse_destination,
    parse_duration_word,
    parse_id,
    parse_selector,
    tokens,
)
from bot.commands.permissions import Caller
from bot.config.settings import Settings
from bot.core.text import shorten

log = logging.getLogger("bot.discord")

PING, APPLICATION_COMMAND = 1, 2  # 3, MESSAGE_COMPONENT: bot.chat.discord.interactions
PONG, CHANNEL_MESSAGE = 1, 4
EPHEMERAL = 64
TIMESTAMP_TOLERANCE = 300.0
CONTENT_LIMIT = 2000
SUBCOMMAND, STRING, BOOLEAN = 1, 3, 5


def _option(kind: int, name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": description, "required": required}


_SELECTOR = _option(STRING, "selector", "key=glob terms or a source name: alertname=Disk*", True)
_ID = _option(STRING, "id", "the id `list` or the event shows: m3, r2, 12.0", True)
_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "mute": [
        _SELECTOR,
        _option(STRING, "duration", "30m, 2h, 1d, or until-resolved (default 1h)"),
        _option(STRING, "reason", "why: shown in the announcement and in list"),
        _option(BOOLEAN, "everywhere", "mute in every channel, not just this one"),
    ],
    "unmute": [_ID],
    "route": [
        _SELECTOR,
        _option(STRING, "target", "a #channel or the name of a configured target", True),
        _option(STRING, "duration", "30m, 2h, 1d (default: until unroute)"),
    ],
    "unroute": [_ID],
    "list": [],
    "status": [],
    "why": [_ID],
    "replay": [_ID],
    "test": [_option(STRING, "target", "a #channel or target (default: this channel)")],
    "help": [],
}
COMMAND: dict[str, Any] = {
    "name": "notify",
    "type": 1,
    "description": "Mute, reroute and inspect the bot's notifications",
    "options": [
        {"type": SUBCOMMAND, "name": name, "description": SUMMARY[name], "options": options}
        for name, options in _OPTIONS.items()
    ],
}


# -- verify -----------------------------------------------------------------------------


def verified(public_key: str, headers: Any, body: bytes, now: float) -> bool:
    """Discord's Ed25519 signature over timestamp + body, and a fresh timestamp."""
    signature = headers.get("X-Signature-Ed25519", "")
    timestamp = headers.get("X-Signature-Timestamp", "")
    try:
        if abs(now - float(timestamp)) > TIMESTAMP_TOLERANCE:
            return False
        VerifyKey(bytes.fromhex(public_key)).verify(
            timestamp.encode() + body, bytes.fromhex(signature)
        )
    except (ValueError, BadSignatureError):
        return False
    return True


# -- options -> Command -------------------------------------------------------------------


def _values(options: list[dict[str, Any]]) -> dict[str, Any]:
    return {str(o.get("name")): o.get("value") for o in options}


def command_of(name: str, options: dict[str, Any], vocabulary: Vocabulary) -> Command:
    """A subcommand's options as the same ``Command`` the text grammar produces."""
    if name in ("mute", "route"):
        selector, notes = parse_selector(tokens(str(options.get("selector", ""))), vocabulary)
        if not selector.terms:
            raise CommandError("the selector is empty: e.g. alertname=DiskFull, or github")
        duration_word = str(options.get("duration") or "").strip()
        until_resolved = duration_word.lower().replace(" ", "-") == "until-resolved"
        duration = (
            parse_duration_word(duration_word) if duration_word and not until_resolved else None
        )
        if name == "route":
            if until_resolved:
                raise CommandError("a reroute takes a duration (30m, 2h, 1d), not until-resolved")
            target = parse_destination(str(options.get("target", "")), vocabulary)
            return Reroute(selector, target, duration, notes)
        return Mute(
            selector,
            duration,
            until_resolved,
            str(options.get("reason") or ""),
            bool(options.get("everywhere")),
            notes=notes,
        )
    ident = str(options.get("id", "")).strip()
    simple: dict[str, Any] = {
        "unmute": lambda: Unmute(parse_id(ident, "m")),
        "unroute": lambda: Unroute(parse_id(ident, "r")),
        "list": ListOverrides,
        "status": Status,
        "why": lambda: Why(ident),
        "replay": lambda: Replay(ident),
        "test": lambda: SendTest(
            parse_destination(str(options["target"]), vocabulary) if options.get("target") else None
        ),
        "help": Help,
    }
    if name not in simple:
        raise CommandError(f"unknown subcommand {name!r}: register the commands again")
    command: Command = simple[name]()
    return command


def caller_of(interaction: dict[str, Any]) -> Caller:
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    channel = interaction.get("channel") or {}
    return Caller(
        "discord",
        str(user.get("id", "")),
        str(user.get("global_name") or user.get("username") or ""),
        str(interaction.get("channel_id") or channel.get("id") or ""),
        str(channel.get("name") or ""),
        workspace=str(interaction.get("guild_id") or ""),  # none in a DM
    )


def discord_text(reply: Reply) -> str:
    text = reply.text
    if reply.table:
        text += f"\n```\n{reply.table_text()}\n```"
    if len(text) > CONTENT_LIMIT:
        # Room is kept for the table's closing fence whether or not there is a table.
        text = shorten(text, CONTENT_LIMIT - 4, tidy=str.rstrip) + ("\n```" if reply.table else "")
    return text


def _answer(reply: Reply) -> web.Response:
    data = {"content": discord_text(reply), "flags": EPHEMERAL, "allowed_mentions": {"parse": []}}
    return web.json_response({"type": CHANNEL_MESSAGE, "data": data})


# -- the endpoint -------------------------------------------------------------------------


async def run(core: CommandCore, interaction: dict[str, Any]) -> Reply:
    data = interaction.get("data") or {}
    [sub] = data.get("options") or [{"name": "help"}]
    caller = caller_of(interaction)
    if (refused := await core.unbound(caller)) is not None:
        return refused
    try:
        command = command_of(
            str(sub.get("name")), _values(sub.get("options") or []), core.vocabulary("discord")
        )
    except CommandError as exc:
        return Reply(str(exc), ok=False)
    return await core.execute(command, caller)


def endpoint(
    settings: Settings,
    core_key: web.AppKey[CommandCore],
    actions_key: web.AppKey[ActionCore] | None = None,
) -> Any:
    async def interactions(request: web.Request) -> web.Response:
        body = await request.read()
        if not verified(settings.discord.public_key, request.headers, body, time.time()):
            log.warning("rejected", extra={"source": "discord", "reason": "bad signature"})
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            interaction = json.loads(body)
        except ValueError as exc:
            return web.json_response({"error": f"not JSON: {exc}"}, status=400)
        kind = interaction.get("type") if isinstance(interaction, dict) else None
        if kind == PING:
            return web.json_response({"type": PONG})
        if kind == components.MESSAGE_COMPONENT and actions_key is not None:
            core = request.app[actions_key]
            return web.json_response(
                components.deferred(core, settings.discord.api_url, interaction)
            )
        if kind != APPLICATION_COMMAND:
            return web.json_response({"error": f"interaction type {kind} not handled"}, status=400)
        reply = await answered(run(request.app[core_key], interaction))
        return _answer(reply)

    return interactions


def add_routes(
    app: web.Application,
    settings: Settings,
    core_key: web.AppKey[CommandCore],
    actions_key: web.AppKey[ActionCore] | None = None,
) -> None:
    """Mount ``/discord/interactions`` only when ``[discord] public_key`` is set: commands
    and, given the action core, button clicks."""
    if settings.discord.public_key:
        app.router.add_post("/discord/interactions", endpoint(settings, core_key, actions_key))


# -- registration -------------------------------------------------------------------------


async def register(
    settings: Settings, session: aiohttp.ClientSession, guild: str | None = None
) -> list[dict[str, Any]]:
    """Create or update ``/notify`` (bulk overwrite: running it again changes nothing).

    A guild's commands appear at once; global ones can take a while to reach clients.
    Raises ``CommandError`` saying what to fix.
    """
    discord = settings.discord
    if not (discord.application_id and discord.bot_token):
        raise CommandError(
            "set [discord] application_id and bot_token (BOT_DISCORD__APPLICATION_ID, "
            "BOT_DISCORD__BOT_TOKEN): both are on the app's page at discord.com/developers"
        )
    path = f"/applications/{discord.application_id}"
    path += f"/guilds/{guild}/commands" if guild else "/commands"
    url = discord.api_url.rstrip("/") + path
    headers = {"Authorization": f"Bot {discord.bot_token}"}
    try:
        async with session.put(url, json=[COMMAND], headers=headers) as response:
            answer = await response.json(content_type=None)
            if response.status >= 300:
                message = answer.get("message") if isinstance(answer, dict) else answer
                raise CommandError(
                    f"Discord refused the commands (HTTP {response.status}: {message}); "
                    "check the bot token and application id"
                )
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise CommandError(f"cannot reach {discord.api_url}: {type(exc).__name__}") from None
    return list(answer)
