"""What Discord can tell before the first post: whose bot token this is
(``GET /users/@me``), whether each channel target is visible to it
(``GET /channels/{id}``) and whether each webhook still exists. Nothing is posted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.platform import Finding
from bot.core.errors import DeliveryError

if TYPE_CHECKING:
    from bot.chat import ChatAdapter
    from bot.config.settings import Settings

TOKEN_FIX = (
    "copy the token from discord.com/developers -> your application -> Bot into "
    "[discord] bot_token or BOT_DISCORD__BOT_TOKEN"
)
CHANNEL_FIX = (
    "add the bot to that server, and allow it View Channel, Send Messages, Embed Links and "
    "Create Public Threads in the channel"
)


async def check(adapter: ChatAdapter, settings: Settings) -> list[Finding]:
    from bot.chat.discord.adapter import Destination, DiscordAdapter

    assert isinstance(adapter, DiscordAdapter)
    targets = {
        name: Destination.parse(target.address)
        for name, target in settings.targets.items()
        if target.platform == "discord"
    }
    findings: list[Finding] = []
    token_works = False
    if settings.discord.bot_token:
        try:
            status, me = await adapter.ask(Destination("channel", "@me"), "/users/@me")
        except DeliveryError as exc:
            return [Finding(False, f"Discord not checked: {exc} (check [discord] api_url)")]
        token_works = status == 200 and isinstance(me, dict)
        if token_works:
            findings.append(Finding(True, f"posting to Discord as @{me.get('username', '?')}"))
        else:
            findings.append(
                Finding(
                    False, f"Discord refused [discord] bot_token: {_said(status, me)} ({TOKEN_FIX})"
                )
            )
    for name, where in targets.items():
        if where.kind == "channel" and not token_works:
            continue  # the token's own finding says what to fix first
        path = f"/channels/{where.id}" if where.kind == "channel" else _hook(where.id, where.token)
        try:
            status, answer = await adapter.ask(where, path)
        except DeliveryError as exc:
            findings.append(Finding(False, f"target {name!r} not checked: {exc}"))
            continue
        findings.append(_finding(name, where.kind, where.id, status, answer))
    return findings


def _hook(hook_id: str, token: str) -> str:
    return f"/webhooks/{hook_id}/{token}"


def _finding(name: str, kind: str, ident: str, status: int, answer: object) -> Finding:
    where = f"target {name!r}"
    if kind == "webhook":
        if status == 200:
            return Finding(True, f"{where}: webhook {ident} exists")
        return Finding(
            False,
            f"{where}: webhook {ident} is gone ({_said(status, answer)}): create a new one in "
            "the channel's Integrations -> Webhooks and put its URL in discord_webhook",
        )
    if status == 200 and isinstance(answer, dict):
        return Finding(True, f"{where}: channel #{answer.get('name', ident)} is visible")
    if status == 404:
        return Finding(
            False,
            f"{where}: no Discord channel {ident} (copy the id again: Developer Mode, "
            "right-click the channel, Copy Channel ID)",
        )
    return Finding(
        False,
        f"{where}: the bot cannot see channel {ident} ({_said(status, answer)}): {CHANNEL_FIX}",
    )


def _said(status: int, answer: object) -> str:
    message = answer.get("message") if isinstance(answer, dict) else None
    if not message:
        return f"HTTP {status}"
    return message if str(message).startswith(str(status)) else f"{status} {message}"
