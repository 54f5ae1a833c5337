"""Clicks as Slack and Discord send them, and the buttons as the bot drew them.

``slack_click`` is a signed ``block_actions`` request for one button of a posted message;
``buttons_of`` reads the buttons back out of a ``chat.postMessage``/``chat.update`` body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack import Call
from tests.test_slack_commands import signed


def _elements(call: Call) -> list[dict[str, Any]]:
    """Every button of the message's ``actions`` blocks, in the order Slack shows them."""
    blocks = [b for a in call.body.get("attachments", []) for b in a.get("blocks", [])]
    return [e for block in blocks if block["type"] == "actions" for e in block["elements"]]


def buttons_of(call: Call) -> dict[str, dict[str, Any]]:
    """The message's action buttons by action (``acknowledge``), as Slack shows them."""
    return {
        element["action_id"].removeprefix("bot."): element
        for element in _elements(call)
        if element["action_id"].startswith("bot.")
    }


def links_of(call: Call) -> list[tuple[str, str]]:
    """The message's link buttons (label, URL), as Slack shows them."""
    return [(e["text"]["text"], e["url"]) for e in _elements(call) if "url" in e]


def block_actions(
    button: dict[str, Any],
    user: str = "U1",
    name: str = "alice",
    channel: str = "CENG",
    ts: str = "1700000000.000001",
    team: str = "T0FAKE",
) -> bytes:
    """The form Slack posts to the interactivity URL when ``button`` is pressed."""
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": name, "name": name, "team_id": team},
        "api_app_id": "A0FAKE",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "eng"},
        "response_url": "https://hooks.slack.com/actions/T0FAKE/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "bot_actions",
                "text": button["text"],
                "value": button["value"],
                "action_ts": "1700000001.000002",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def slack_click(bot: Any, button: dict[str, Any], **who: str) -> None:
    """Press ``button`` in Slack; Slack requires the answer (the ack) within 3 s."""
    body = block_actions(button, **who)
    response = await bot.post("/slack/interactions", data=body, headers=signed(body))
    assert response.status == 200, await response.text()
