"""/notify from Slack: signed slash commands over HTTP, Socket Mode over a WebSocket,
and their effect on real webhooks going through the pipeline to a fake Slack."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from slack_sdk.signature import SignatureVerifier

from tests.conftest import base_config, eventually, github_headers
from tests.test_commands import pull_request

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PR_TITLE = "#2 Update the README with new information."  # pull request #2's card title


def slack_config(tmp_path: Any, slack_url: str, **sections: Any) -> dict[str, Any]:
    config = base_config(tmp_path, slack_url, **sections)
    config["slack"]["signing_secret"] = SIGNING_SECRET
    return config


def slash(text: str, user: str = "U1", channel: str = "CENG", channel_name: str = "eng") -> bytes:
    """The form Slack posts for ``/notify <text>`` (with should_escape: true)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": "T0FAKE",
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/notify",
            "text": text,
            "api_app_id": "A0FAKE",
            "response_url": "https://hooks.slack.com/commands/T0FAKE/1/x",
            "trigger_id": "1.2.3",
        }
    ).encode()


def signed(body: bytes, secret: str = SIGNING_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def notify(bot: Any, text: str, **who: str) -> str:
    body = slash(text, **who)
    response = await bot.post("/slack/commands", data=body, headers=signed(body))
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


async def hook(bot: Any, body: bytes, delivery: str) -> None:
    headers = github_headers(body, "pull_request", delivery)
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200


async def test_mute_from_slack_suppresses_and_unmute_restores(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))

    reply = await notify(bot, "mute repo=Codertocat/* for 2h because deploy window")
    assert "Muted m1" in reply
    await fake_slack.wait_for(1)  # the announcement
    await hook(bot, pull_request(), "d1")
    assert "muted (kept, not posted) 1" in await _eventually_status(bot)

    reply = await notify(bot, "unmute m1")
    assert "while muted: 1 alert, 1 still firing" in reply
    await fake_slack.wait_for(2)  # the digest
    await hook(bot, pull_request("reopened"), "d2")
    posts = await fake_slack.wait_for(3)
    assert posts[2].title == PR_TITLE
    assert posts[2].body["channel"] == "#eng"


async def _eventually_status(bot: Any) -> str:
    async def muted() -> str:
        text = await notify(bot, "status")
        return text if "muted (kept, not posted) 1" in text else ""

    return str(await eventually(muted))


async def test_channels_arrive_escaped_and_reroute_follows_them(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url, commands={"admins": ["U1"]}))

    reply = await notify(bot, "route github to <#C0WEB|web-team>")
    assert "Rerouted r1" in reply and "#web-team" in reply
    await hook(bot, pull_request(), "d1")

    [post] = await fake_slack.wait_for(1)
    assert post.body["channel"] == "C0WEB"


async def test_list_is_a_table_in_a_code_block(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url, commands={"admins": ["U1"]}))
    await notify(bot, 'mute alertname=DiskFull for 2h because "disk <swap> & logs"')
    await notify(bot, "route github repo=acme/web to <#C0WEB|web-team>")

    listing = await notify(bot, "list")

    assert "disk &lt;swap&gt; &amp; logs" in listing  # escaped: nothing typed can ping
    table = html.unescape(listing).split("```")[1].strip().splitlines()  # as Slack shows it
    assert table[0].split() == ["ID", "WHAT", "WHERE", "BY", "REASON", "ENDS"]
    assert table[1].startswith("m1  alertname=DiskFull")
    assert table[2].startswith("r1  source=github repo=acme/web  → #web-team")
    for row in table[1:]:  # the columns line up
        assert row[table[0].index("WHERE") - 2 : table[0].index("WHERE")] == "  "


async def test_permissions_deny_clearly(tmp_path, fake_slack, make_bot):
    config = slack_config(tmp_path, fake_slack.url, commands={"admins": ["UBOSS"]})
    bot = await make_bot(config)

    assert "only admins may route" in await notify(bot, "route github to <#C0WEB|web>")
    assert "only admins may mute everywhere" in await notify(bot, "mute github everywhere")
    assert "Rerouted r1" in await notify(bot, "route github to <#C0WEB|web>", user="UBOSS")


async def test_parse_errors_come_back_as_replies(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))

    assert "did you mean 'severity'?" in await notify(bot, "mute sevrity=error")
    assert "`unmute &lt;id&gt;`: lift a mute" in await notify(bot, "help")


async def test_bad_signatures_and_stale_timestamps_get_401(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    body = slash("mute github")

    wrong = await bot.post("/slack/commands", data=body, headers=signed(body, secret="nope"))
    stale = await bot.post("/slack/commands", data=body, headers=signed(body, at=time.time() - 600))
    unsigned = await bot.post("/slack/commands", data=body)

    assert (wrong.status, stale.status, unsigned.status) == (401, 401, 401)
    assert "No mutes" in await notify(bot, "list")


async def test_url_verification_on_the_events_url(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"  # Slack's docs' example
    body = json.dumps({"token": "x", "challenge": challenge, "type": "url_verification"}).encode()

    response = await bot.post(
        "/slack/events", data=body, headers={**signed(body), "Content-Type": "application/json"}
    )

    assert response.status == 200
    assert (await response.json())["challenge"] == challenge


async def test_endpoints_are_absent_without_a_signing_secret(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    body = slash("list")

    response = await bot.post("/slack/commands", data=body, headers=signed(body))

    assert response.status == 404


async def test_socket_mode_runs_commands_without_a_public_url(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url)
    config["slack"]["app_token"] = fake_slack.app_token
    await make_bot(config)

    ack = await fake_slack.socket_send(
        {
            "envelope_id": "e-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/notify",
                "text": "mute github for 30m",
                "user_id": "U1",
                "user_name": "alice",
                "channel_id": "CENG",
                "channel_name": "eng",
                "team_id": "T0FAKE",
                "api_app_id": "A0FAKE",
            },
        }
    )

    assert ack["envelope_id"] == "e-1"
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "Muted m1" in ack["payload"]["text"]
    [announcement] = await fake_slack.wait_for(1)
    assert "Mute m1" in fake_slack.text_of(announcement)


async def test_a_mention_is_answered_ephemerally(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    body = (
        b'{"type": "event_callback", "team_id": "T0FAKE", "api_app_id": "A0FAKE", '
        b'"event_id": "Ev1", "event_time": 1, "event": {"type": "app_mention", '
        b'"user": "U1", "text": "<@UBOT> list", "channel": "CENG", "ts": "1.2"}}'
    )

    response = await bot.post(
        "/slack/events", data=body, headers={**signed(body), "Content-Type": "application/json"}
    )

    assert response.status == 200
    [reply] = await fake_slack.wait_for(1, method="chat.postEphemeral")
    assert reply.body["user"] == "U1" and "No mutes" in reply.body["text"]


def test_the_manifest_matches_what_the_bot_serves():
    manifest = yaml.safe_load((Path(__file__).parent.parent / "slack-app-manifest.yml").read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/notify" and command["should_escape"] is True
    assert command["url"].endswith("/slack/commands")
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    interactivity = manifest["settings"]["interactivity"]  # the action buttons' clicks
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].endswith("/slack/interactions")
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "chat:write.public", "commands", "app_mentions:read"} <= scopes
