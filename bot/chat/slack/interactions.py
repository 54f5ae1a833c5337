"""Slack front end for action buttons: ``block_actions`` through slack-bolt.

The same bolt app as ``/notify`` receives them, on ``POST /slack/interactions`` or over
Socket Mode. The click is acknowledged at once (bolt answers Slack before the listener's
work goes on, well inside three seconds); the action core then calls the provider and
queues the message's edit, so the message itself shows the result. Only a refusal or a
failure is said to the clicker, ephemerally.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.chat.slack.adapter import ACTION_PREFIX, LINK_PREFIX
from bot.commands.actions import ActionCore, Answer, Click

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger("bot.slack")

ANY_ACTION = re.compile(rf"^{re.escape(ACTION_PREFIX)}")
ANY_LINK = re.compile(rf"^{re.escape(LINK_PREFIX)}")


def click_of(body: dict[str, Any], action: dict[str, Any]) -> Click:
    """Who pressed what, from Slack's ``block_actions`` payload."""
    user = body.get("user") or {}
    channel = str((body.get("channel") or {}).get("id", ""))
    ts = str((body.get("container") or {}).get("message_ts", ""))
    link = f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}" if ts else ""
    team = body.get("team") or {}
    return Click(
        platform="slack",
        user=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("name") or ""),
        channel=channel,
        action=str(action.get("action_id", "")).removeprefix(ACTION_PREFIX),
        value=str(action.get("value", "")),
        link=link,
        workspace=str(team.get("id") or user.get("team_id") or ""),
    )


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def register(bolt: AsyncApp, core: ActionCore) -> None:
    """Listen for every action button the adapter draws."""

    async def on_click(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = click_of(body, action)
        try:
            answer = await core.click(click)
        except Exception as exc:  # the clicker still hears; the log has the trace
            log.exception("click failed", extra={"action": click.action})
            answer = Answer(f"the click failed ({type(exc).__name__}); the bot's log says more")
        if answer.text and click.channel:
            await bolt.client.chat_postEphemeral(
                channel=click.channel, user=click.user, text=_escaped(answer.text)
            )

    bolt.action(ANY_ACTION)(on_click)


def acknowledge_links(bolt: AsyncApp) -> None:
    """A link button opens its page in the browser, and Slack tells an interactive app
    of the click as well: it is only acknowledged (unanswered, Slack marks the button
    with a warning)."""

    async def on_link(ack: Any) -> None:
        await ack()

    bolt.action(ANY_LINK)(on_link)
