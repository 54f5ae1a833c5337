"""Buttons under a PagerDuty incident in a Discord channel: a component interaction
(type 3, Ed25519-signed) gets a deferred update at once, PagerDuty is called, the message
is edited with its new buttons; a refusal is an ephemeral follow-up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import eventually, on_loopback
from tests.fakes.apis import PAGERDUTY_FORBIDDEN, fake_pagerduty
from tests.fakes.discord import GUILD, FakeDiscord, Posted
from tests.senders import PAGERDUTY_SECRET
from tests.test_actions_slack import incident
from tests.test_discord_commands import APPLICATION, CHANNEL, config, signed


@pytest.fixture
async def pd() -> Any:
    fake = fake_pagerduty()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url(""))
        yield fake


def pd_config(tmp_path: Any, discord: FakeDiscord, pd_url: str, **sections: Any) -> dict[str, Any]:
    settings = config(tmp_path, discord, **sections)
    settings["sources"]["pd"] = {
        "provider": "pagerduty",
        "secret": PAGERDUTY_SECRET,
        "api_token": "pd-rest-key",
        "api_url": pd_url,
        "from_email": "oncall@acme.com",
    }
    settings["people"] = {"4242": "alice@acme.com"}
    return settings


def buttons_of(body: dict[str, Any]) -> dict[str, str]:
    """custom_id by action, as the message's components show them."""
    return {
        button["custom_id"].split(":", 1)[0].removeprefix("bot."): button["custom_id"]
        for row in body.get("components", [])
        for button in row["components"]
        if "custom_id" in button
    }


def component(custom_id: str, message: Posted, user: str = "4242", guild: str = GUILD) -> bytes:
    """A MESSAGE_COMPONENT interaction as Discord sends it for a button press."""
    return json.dumps(
        {
            "type": 3,
            "id": "1300",
            "application_id": APPLICATION,
            "token": "interaction-token",
            "version": 1,
            "guild_id": guild,
            "channel_id": CHANNEL,
            "member": {"user": {"id": user, "username": "alice", "global_name": "Alice"}},
            "message": {"id": message.id, "channel_id": CHANNEL},
            "data": {"custom_id": custom_id, "component_type": 2},
        }
    ).encode()


async def press(bot: Any, custom_id: str, message: Posted, **who: str) -> None:
    body = component(custom_id, message, **who)
    response = await bot.post("/discord/interactions", data=body, headers=signed(body))
    assert response.status == 200
    assert await response.json() == {"type": 6}  # deferred update: no error shown meanwhile


async def first_message(bot: Any, discord: FakeDiscord) -> Posted:
    await incident(bot, "triggered")
    [message] = await discord.wait_until(lambda: discord.roots() or None)
    return message


async def test_acknowledge_from_discord(tmp_path, fake_discord, pd, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pd.url))
    message = await first_message(bot, fake_discord)
    shown = buttons_of(message.versions[0])
    assert list(shown) == ["acknowledge", "resolve", "mute_1h"]

    await press(bot, shown["acknowledge"], message)

    await fake_discord.wait_until(lambda: len(message.versions) > 1)
    [call] = pd.calls
    assert call.headers["From"] == "alice@acme.com"
    edited = message.versions[-1]
    assert list(buttons_of(edited)) == ["resolve", "mute_1h"]
    assert "Acknowledged by @alice via Discord" in json.dumps(edited["embeds"])
    assert edited["allowed_mentions"] == {"parse": []}


def links_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The message's link buttons (style 5): label and URL."""
    return [
        (button["label"], button["url"])
        for row in body.get("components", [])
        for button in row["components"]
        if button["style"] == 5
    ]


async def test_resolve_from_discord_clears_the_action_buttons(tmp_path, fake_discord, pd, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pd.url))
    message = await first_message(bot, fake_discord)

    await press(bot, buttons_of(message.versions[0])["resolve"], message)

    await fake_discord.wait_until(lambda: len(message.versions) > 1)
    resolved = message.versions[-1]
    assert buttons_of(resolved) == {}
    policy = ("Escalation policy", "https://pig208.pagerduty.com/escalation_policies/PY82TC6")
    assert links_of(message.versions[0]) == links_of(resolved) == [policy]
    assert [len(row["components"]) for row in message.versions[0]["components"]] == [4]
    assert pd.calls[0].body["incident"]["status"] == "resolved"


def _followups(discord: FakeDiscord) -> list[Any]:
    path = f"/webhooks/{APPLICATION}/interaction-token"
    return [c for c in discord.calls if c.method == "POST" and c.path.endswith(path)]


async def test_refusals_and_provider_errors_are_ephemeral_followups(
    tmp_path, fake_discord, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pd.url, actions={"allowed": ["9999"]}))
    message = await first_message(bot, fake_discord)
    shown = buttons_of(message.versions[0])

    await press(bot, shown["acknowledge"], message)

    [refusal] = await eventually(lambda: answered(fake_discord, 1))
    assert refusal.body["flags"] == 64
    assert "you may not act on sources from chat here" in refusal.body["content"]
    assert pd.calls == []
    pd.answer(403, PAGERDUTY_FORBIDDEN)
    await press(bot, shown["acknowledge"], message, user="9999")
    [_, failure] = await eventually(lambda: answered(fake_discord, 2))
    assert "PagerDuty answered 403" in failure.body["content"]
    assert len(message.versions) == 1  # unchanged: the action can still be tried


async def test_a_click_from_another_guild_is_refused_and_counted(
    tmp_path, fake_discord, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_discord, pd.url))
    message = await first_message(bot, fake_discord)
    shown = buttons_of(message.versions[0])

    await press(bot, shown["acknowledge"], message, guild="999")

    [refusal] = await eventually(lambda: answered(fake_discord, 1))
    assert refusal.body["flags"] == 64
    assert "(999) is not one this bot takes commands and clicks from" in refusal.body["content"]
    assert pd.calls == [] and len(message.versions) == 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_commands_refused_total{platform="discord",reason="unbound workspace"} 1.0' in (
        metrics
    )


async def answered(discord: FakeDiscord, count: int) -> list[Any]:
    """The ephemeral follow-ups, once there are ``count`` of them."""
    found = _followups(discord)
    return found if len(found) >= count else []
