"""Buttons under a PagerDuty incident in a Mattermost channel: attachment ``actions``
(``type: button``) whose ``integration.url`` is the bot's public address and whose
``context`` is signed by the bot, a click answered with ``ephemeral_text`` when something
is refused or fails, the post edited with its new buttons. Mattermost signs no click:
a context the bot did not make is refused. What every platform does alike is in
test_actions_platforms.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from bot.config.settings import Settings
from bot.ops.startup import startup_warnings
from tests.actions import (
    PUBLIC_URL,
    MattermostClicks,
    attachment_actions,
    incident,
    mattermost_config,
    pagerduty_bot,
    some,
    with_pagerduty,
)
from tests.conftest import eventually
from tests.fakes.clock import FakeClock
from tests.fakes.mattermost import HOOK_ID, FakeMattermost

OTHER_TEAM = "other0team0id0000000000000"


async def test_acknowledge_from_a_button_that_calls_the_bot_back(
    tmp_path, fake_mattermost, pagerduty_api, make_bot
):
    clicks = MattermostClicks(fake_mattermost)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    [attachment] = clicks.versions()[0]["props"]["attachments"]
    actions = attachment["actions"]
    assert [(a["id"], a["name"], a["type"]) for a in actions] == [
        ("acknowledge", "Acknowledge", "button"),
        ("resolve", "Resolve", "button"),
        ("mute1h", "Mute this 1h", "button"),  # Mattermost routes only [A-Za-z0-9] ids
    ]
    assert {a["integration"]["url"] for a in actions} == {f"{PUBLIC_URL}/mattermost/actions"}
    assert [a["style"] for a in actions] == ["primary", "danger", "default"]
    assert [f["title"] for f in attachment["fields"]][-1] == "Links"  # the links stay

    await clicks.press(bot, clicks.buttons()["acknowledge"])

    [answer] = await eventually(lambda: _answers(clicks))
    assert answer == {}  # nothing to tell the clicker alone: the post shows it
    await fake_mattermost.wait_until(lambda: len(clicks.versions()) > 1)
    [call] = pagerduty_api.calls
    assert call.headers["From"] == "alice@acme.com"
    assert list(clicks.buttons()) == ["resolve", "mute_1h"]
    assert "Acknowledged by @alice via Mattermost" in clicks.text()
    [reply] = await eventually(lambda: some(clicks.replies()))
    assert "Acknowledged by @alice via Mattermost" in reply


async def _answers(clicks: MattermostClicks) -> list[dict[str, Any]]:
    return [task.result() for task in clicks.pressed if task.done()]


async def test_a_context_the_bot_did_not_sign_is_refused(
    tmp_path, fake_mattermost, pagerduty_api, make_bot
):
    clicks = MattermostClicks(fake_mattermost)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    button = clicks.buttons()["resolve"]
    url, request = fake_mattermost.action_request(
        fake_mattermost.roots()[0], button["id"], clicks.user, "mallory"
    )
    path = urlsplit(url).path
    forged = [
        {**request["context"], "value": "2.0/room"},  # another delivery, the same mac
        {**request["context"], "action": "acknowledge"},
        {**request["context"], "mac": "0" * 64},
        {"action": "resolve", "value": request["context"]["value"]},
        "resolve",
    ]

    answers = [await bot.post(path, json={**request, "context": c}) for c in forged]
    junk = await bot.post(path, data="{")

    assert [a.status for a in answers] == [401] * len(forged) and junk.status == 400
    assert "not a button this bot made" in (await answers[0].json())["error"]
    assert pagerduty_api.calls == [] and len(clicks.versions()) == 1


async def test_a_click_from_another_team_is_refused_ephemerally(
    tmp_path, fake_mattermost, pagerduty_api, make_bot
):
    clicks = MattermostClicks(fake_mattermost)
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    button = clicks.buttons()["acknowledge"]
    url, request = fake_mattermost.action_request(
        fake_mattermost.roots()[0], button["id"], clicks.user, "alice", team_id=OTHER_TEAM
    )

    answer = await (await bot.post(urlsplit(url).path, json=request)).json()

    said = answer["ephemeral_text"].replace("\u200b", "").replace("\\", "")
    assert f"({OTHER_TEAM}) is not one this bot takes commands and clicks from" in said
    assert "[mattermost] team_ids" in said
    assert pagerduty_api.calls == [] and len(clicks.versions()) == 1


async def test_a_stale_click_that_reaches_the_bot_says_so(
    tmp_path, fake_mattermost, pagerduty_api, make_bot
):
    clicks = MattermostClicks(fake_mattermost)
    config = with_pagerduty(clicks.config(tmp_path), pagerduty_api.url, clicks.user)
    clock = FakeClock()
    bot = await make_bot(config, clock)
    await incident(bot, "triggered")
    await clicks.posted()
    await clicks.press(bot, clicks.buttons()["mute_1h"])
    await fake_mattermost.wait_until(lambda: len(clicks.versions()) > 1)
    assert "unmute" in clicks.buttons()

    await clock.advance(3700)  # the mute is over; the post still offers Unmute
    await clicks.press(bot, clicks.buttons()["unmute"])

    [text] = await eventually(lambda: some(clicks.told()))
    assert "Unmute is not possible any more: the mute is over" in text
    assert "The message now shows the current state" in text
    await fake_mattermost.wait_until(lambda: len(clicks.versions()) > 2)
    assert list(clicks.buttons()) == ["acknowledge", "resolve", "mute_1h"]


async def test_webhook_targets_and_bots_without_a_public_url_carry_no_action_buttons(
    tmp_path, fake_mattermost, pagerduty_api, make_bot
):
    config = with_pagerduty(mattermost_config(tmp_path, fake_mattermost), pagerduty_api.url, "u")
    config["targets"]["hook"] = {"mattermost_webhook": f"{fake_mattermost.url}/hooks/{HOOK_ID}"}
    config["routes"] = [{"to": ["room", "hook"]}]
    bot = await make_bot(config)
    await incident(bot, "triggered")
    posts = await fake_mattermost.wait_until(lambda: _both(fake_mattermost))
    webhook = next(p for p in posts if p.webhook)
    bot_post = next(p for p in posts if not p.webhook)
    assert attachment_actions(webhook.versions[0]) == {}  # a webhook's post: links only
    assert "Escalation policy" in json.dumps(webhook.versions[0])
    assert list(attachment_actions(bot_post.versions[0])) == ["acknowledge", "resolve", "mute_1h"]

    del config["server"]  # no public address: Mattermost could not call back
    config["store"]["url"] = f"sqlite:///{tmp_path / 'other.db'}"
    other = await make_bot(config)
    assert (await other.post("/mattermost/actions", json={})).status == 404
    await incident(other, "triggered")
    await fake_mattermost.wait_until(lambda: len(fake_mattermost.roots()) >= 4)
    assert all(attachment_actions(p.versions[0]) == {} for p in fake_mattermost.roots()[2:])


def _both(fake: FakeMattermost) -> list[Any] | None:
    posts = fake.roots()
    return posts if len(posts) >= 2 else None


def test_half_of_what_buttons_need_is_said_at_start(tmp_path, fake_mattermost):
    config = mattermost_config(tmp_path, fake_mattermost)
    assert not [w for w in startup_warnings(Settings(**config)) if "actions_secret" in w]
    del config["server"]
    [missing] = [w for w in startup_warnings(Settings(**config)) if "action buttons" in w]
    assert "[server] public_url is empty" in missing
    config["mattermost"]["actions_secret"] = "short"
    config["server"] = {"public_url": PUBLIC_URL}
    [weak] = [w for w in startup_warnings(Settings(**config)) if "actions_secret" in w]
    assert "under 16 bytes" in weak
    assert "short" not in weak  # the secret itself is never said
