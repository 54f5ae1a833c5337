"""Buttons under a PagerDuty incident in a Discord channel: a component interaction
(type 3, Ed25519-signed) gets a deferred update at once, PagerDuty is called, the message
is edited with its new buttons; a provider's refusal is an ephemeral follow-up, and so is
a click from a guild the bot takes no clicks from. What every platform does alike is in
test_actions_platforms.py."""

from __future__ import annotations

import json
from typing import Any

from tests.actions import components_of, discord_press, followups, incident, with_pagerduty
from tests.conftest import eventually
from tests.fakes.apis import PAGERDUTY_FORBIDDEN
from tests.fakes.discord import FakeDiscord, Posted
from tests.test_discord_commands import config


def pd_config(tmp_path: Any, discord: FakeDiscord, pd_url: str, **sections: Any) -> dict[str, Any]:
    return with_pagerduty(config(tmp_path, discord, **sections), pd_url, "4242")


async def first_message(bot: Any, discord: FakeDiscord) -> Posted:
    await incident(bot, "triggered")
    [message] = await discord.wait_until(lambda: discord.roots() or None)
    return message


async def test_acknowledge_from_discord(tmp_path, fake_discord, pagerduty_api, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pagerduty_api.url))
    message = await first_message(bot, fake_discord)
    shown = components_of(message.versions[0])
    assert list(shown) == ["acknowledge", "resolve", "mute_1h"]

    await discord_press(bot, shown["acknowledge"], message)

    await fake_discord.wait_until(lambda: len(message.versions) > 1)
    [call] = pagerduty_api.calls
    assert call.headers["From"] == "alice@acme.com"
    edited = message.versions[-1]
    assert list(components_of(edited)) == ["resolve", "mute_1h"]
    assert "Acknowledged by @alice via Discord" in json.dumps(edited["embeds"])
    assert edited["allowed_mentions"] == {"parse": []}
    # The actions and the link to the escalation policy share one row.
    assert [len(row["components"]) for row in message.versions[0]["components"]] == [4]


async def test_a_refusal_by_pagerduty_is_an_ephemeral_followup(
    tmp_path, fake_discord, pagerduty_api, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pagerduty_api.url))
    message = await first_message(bot, fake_discord)
    pagerduty_api.answer(403, PAGERDUTY_FORBIDDEN)

    await discord_press(bot, components_of(message.versions[0])["acknowledge"], message)

    [failure] = await eventually(lambda: answered(fake_discord, 1))
    assert failure.body["flags"] == 64
    assert "PagerDuty answered 403: Access Denied" in failure.body["content"]
    assert "fix: grant the account behind [sources.pd]'s api_token" in failure.body["content"]
    assert "pd-rest-key" not in failure.body["content"]
    assert len(message.versions) == 1  # unchanged: the action can still be tried


async def test_a_click_from_another_guild_is_refused_and_counted(
    tmp_path, fake_discord, pagerduty_api, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pagerduty_api.url))
    message = await first_message(bot, fake_discord)
    shown = components_of(message.versions[0])

    await discord_press(bot, shown["acknowledge"], message, guild="999")

    [refusal] = await eventually(lambda: answered(fake_discord, 1))
    assert refusal.body["flags"] == 64
    assert "(999) is not one this bot takes commands and clicks from" in refusal.body["content"]
    assert pagerduty_api.calls == [] and len(message.versions) == 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_commands_refused_total{platform="discord",reason="unbound workspace"} 1.0' in (
        metrics
    )


async def answered(discord: FakeDiscord, count: int) -> list[Any]:
    """The ephemeral follow-ups, once there are ``count`` of them."""
    found = followups(discord)
    return found if len(found) >= count else []
