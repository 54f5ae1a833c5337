"""Commands are taken only from the bot's own Slack workspaces and Discord guilds, and
what changes things for everybody needs an admin (DESIGN "Who may command").

Every command goes over a real socket, signed as the platform signs it; the workspace
the bot serves is learned from the fake Slack's ``auth.test`` and the fake Discord's
``GET /channels/{id}``, as from the real ones.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import github_headers, issue_body
from tests.fakes.discord import GUILD
from tests.test_discord_commands import config as discord_config
from tests.test_discord_commands import interaction
from tests.test_discord_commands import signed as discord_signed
from tests.test_slack_commands import signed, slack_config, slash


async def slack_command(bot: Any, text: str, team: str = "T0FAKE", **who: str) -> str:
    body = slash(text, **who).replace(b"team_id=T0FAKE", f"team_id={team}".encode())
    response = await bot.post("/slack/commands", data=body, headers=signed(body))
    assert response.status == 200, await response.text()
    return str((await response.json())["text"])


async def discord_command(bot: Any, sub: str, guild: str | None = GUILD, **options: Any) -> str:
    payload = json.loads(interaction(sub, user="7", **options))
    if guild is None:
        del payload["guild_id"], payload["member"]
        payload["user"] = {"id": "7", "username": "alice"}
    else:
        payload["guild_id"] = guild
    body = json.dumps(payload).encode()
    response = await bot.post("/discord/interactions", data=body, headers=discord_signed(body))
    assert response.status == 200, await response.text()
    return str((await response.json())["data"]["content"])


async def refusals(bot: Any) -> str:
    metrics = await (await bot.get("/metrics")).text()
    return "\n".join(line for line in metrics.splitlines() if "commands_refused_total{" in line)


async def test_a_slack_command_from_another_workspace_is_refused_and_counted(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url, commands={"admins": ["U1"]}))

    refused = await slack_command(bot, "mute github for 2h", team="T0OTHER")
    accepted = await slack_command(bot, "list")

    assert "T0OTHER" in refused and "[slack] team_ids" in refused
    assert accepted == "No mutes or reroutes in force."  # the refused mute never happened
    assert 'platform="slack",reason="unbound workspace"} 1.0' in await refusals(bot)


async def test_slack_team_ids_replace_the_token_workspace(tmp_path, fake_slack, make_bot):
    settings = slack_config(tmp_path, fake_slack.url)
    settings["slack"]["team_ids"] = ["T0CHOSEN"]
    bot = await make_bot(settings)

    assert "not one this bot takes commands from" in await slack_command(bot, "help")
    assert "mute &lt;selector&gt;" in await slack_command(bot, "help", team="T0CHOSEN")


async def test_without_admins_only_the_everyday_commands_run(tmp_path, fake_slack, make_bot):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))

    for text in ("route github to <#C0WEB|web>", "unroute r1", "mute github everywhere"):
        answer = await slack_command(bot, text)
        assert "none is set" in answer and '[commands] admins = ["U1"]' in answer, text
    for text in ("replay 1.0", "test"):
        assert "none is set" in await slack_command(bot, text), text
    assert "mute &lt;selector&gt;" in await slack_command(bot, "help")
    assert "Muted m1" in await slack_command(bot, "mute github for 1h")  # its own channel
    assert "1 mute(s)" in await slack_command(bot, "list")
    assert "Queue:" in await slack_command(bot, "status")
    assert "Unmuted m1" in await slack_command(bot, "unmute m1")


async def test_why_explains_only_what_was_meant_for_the_asking_channel(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    body = issue_body(5, title="secret merger plan")
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", "d-5")
    )
    inbox = (await response.json())["id"]
    await fake_slack.wait_for(1)  # routed to #eng

    here = await slack_command(bot, f"why {inbox}.0", channel="CENG", channel_name="eng")
    elsewhere = await slack_command(bot, f"why {inbox}.0", channel="COPS", channel_name="ops")
    by_request = await slack_command(bot, f"why {inbox}", channel="COPS", channel_name="ops")

    assert "secret merger plan" in here
    assert "secret merger plan" not in elsewhere and "meant for this channel" in elsewhere
    assert "secret merger plan" not in by_request and "meant for this channel" in by_request


async def test_a_discord_interaction_from_another_guild_cannot_reroute(
    tmp_path, fake_discord, make_bot
):
    bot = await make_bot(discord_config(tmp_path, fake_discord, commands={"admins": ["7"]}))

    foreign = await discord_command(bot, "route", guild="999", selector="*", target="<#777>")
    direct = await discord_command(bot, "help", guild=None)
    listing = await discord_command(bot, "list")

    assert "(999) is not one this bot takes commands from" in foreign
    assert "[discord] guild_ids" in foreign
    assert "only from within a guild" in direct
    assert listing == "No mutes or reroutes in force."
    counted = await refusals(bot)
    assert 'reason="unbound workspace"} 1.0' in counted and 'reason="no workspace"} 1.0' in counted


async def test_a_reroute_goes_only_to_targets_or_channels_of_the_same_guild(
    tmp_path, fake_discord, make_bot
):
    fake_discord.guild_of["777"] = "999"  # a channel of a guild the caller is not in
    bot = await make_bot(discord_config(tmp_path, fake_discord, commands={"admins": ["7"]}))

    elsewhere = await discord_command(bot, "route", selector="github", target="<#777>")
    here = await discord_command(bot, "route", selector="github", target="<#778>")
    target = await discord_command(bot, "test", target="room")

    assert "not a channel of this guild" in elsewhere
    assert "Rerouted r1" in here
    assert "Test message queued" in target
    assert "r1" in await discord_command(bot, "list") and "r2" not in await discord_command(
        bot, "list"
    )
