"""Discord front end for action buttons: message components (interaction type 3).

They arrive on ``POST /discord/interactions`` like ``/notify``, verified the same way.
The answer is a deferred update (type 6) at once, so Discord shows no error while the
provider is called; the action core then queues the message's edit (which shows the
result), and only a refusal or a failure is said to the clicker, as an ephemeral
follow-up through the interaction's webhook.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.chat.discord.adapter import ACTION_PREFIX
from bot.commands.actions import ActionCore, Answer, Click

log = logging.getLogger("bot.discord")

MESSAGE_COMPONENT = 3
DEFERRED_UPDATE_MESSAGE = 6
EPHEMERAL = 64

_running: set[asyncio.Task[None]] = set()
"""Clicks being carried out after their deferred answer (kept so none is collected)."""


def click_of(interaction: dict[str, Any]) -> Click:
    """Who pressed what, from a component interaction."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    custom_id = str((interaction.get("data") or {}).get("custom_id", ""))
    action, _, value = custom_id.removeprefix(ACTION_PREFIX).partition(":")
    message = interaction.get("message") or {}
    channel = str(interaction.get("channel_id") or message.get("channel_id") or "")
    guild = str(interaction.get("guild_id") or "@me")
    link = f"https://discord.com/channels/{guild}/{channel}/{message.get('id')}" if message else ""
    return Click(
        platform="discord",
        user=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("global_name") or ""),
        channel=channel,
        action=action,
        value=value,
        link=link,
        workspace=str(interaction.get("guild_id") or ""),  # none in a DM
    )


def deferred(core: ActionCore, api_url: str, interaction: dict[str, Any]) -> dict[str, Any]:
    """Start carrying out the click; the answer Discord gets right away."""
    task = asyncio.create_task(_carry_out(core, api_url, interaction))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return {"type": DEFERRED_UPDATE_MESSAGE}


async def _carry_out(core: ActionCore, api_url: str, interaction: dict[str, Any]) -> None:
    click = click_of(interaction)
    try:
        answer = await core.click(click)
    except Exception as exc:  # the clicker still hears; the log has the trace
        log.exception("click failed", extra={"action": click.action})
        answer = Answer(f"the click failed ({type(exc).__name__}); the bot's log says more")
    if not answer.text:
        return
    url = f"{api_url.rstrip('/')}/webhooks/{interaction.get('application_id')}/"
    body = {
        "content": answer.text[:2000],
        "flags": EPHEMERAL,
        "allowed_mentions": {"parse": []},
    }
    try:
        async with core.session.post(url + str(interaction.get("token")), json=body) as response:
            if response.status >= 300:
                log.warning("click answer refused", extra={"http_status": response.status})
    except Exception:  # nothing more to tell anyone: the log says it
        log.exception("click answer failed")
