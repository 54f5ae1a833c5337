"""/notify from Discord: interactions signed with a real Ed25519 key pair, their effect on
webhooks going through the pipeline to a fake Discord, and command registration."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import pytest
from nacl.signing import SigningKey

from bot.chat.discord.commands import COMMAND
from tests.conftest import (
    DISCORD_WEBHOOK,
    DISCORD_WEBHOOK_ID,
    base_config,
    discord_section,
    eventually,
    github_headers,
)
from tests.fakes.discord import BOT_TOKEN, GUILD
from tests.test_commands import pull_request

KEY = SigningKey.generate()
CHANNEL = "112233445566778899"
PR_TITLE = "#2 Update the README with new information."  # pull request #2's card title
APPLICATION = "998877665544332211"


def config(tmp_path: Any, fake: Any, **sections: Any) -> dict[str, Any]:
    discord = {
        **discord_section(fake, BOT_TOKEN),
        "public_key": KEY.verify_key.encode().hex(),
        "application_id": APPLICATION,
    }
    settings = base_config(
        tmp_path, discord=discord, targets={"room": {"discord": CHANNEL}}, routes=[{"to": ["room"]}]
    )
    settings.update(sections)
    return settings


def signed(body: bytes, key: SigningKey = KEY, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    return {
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def interaction(sub: str, user: str = "4242", **options: Any) -> bytes:
    """An APPLICATION_COMMAND interaction as Discord sends it from a guild channel."""
    return json.dumps(
        {
            "type": 2,
            "id": "1100",
            "application_id": APPLICATION,
            "token": "interaction-token",
            "version": 1,
            "guild_id": GUILD,
            "channel_id": CHANNEL,
            "channel": {"id": CHANNEL, "name": "alerts", "type": 0},
            "member": {"user": {"id": user, "username": "alice", "global_name": "Alice"}},
            "data": {
                "id": "1200",
                "name": "notify",
                "type": 1,
                "options": [
                    {
                        "type": 1,
                        "name": sub,
                        "options": [{"name": k, "value": v} for k, v in options.items()],
                    }
                ],
            },
        }
    ).encode()


async def notify(bot: Any, sub: str, **options: Any) -> str:
    body = interaction(sub, **options)
    response = await bot.post("/discord/interactions", data=body, headers=signed(body))
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64  # ephemeral
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    return str(answer["data"]["content"])


async def hook(bot: Any, body: bytes, delivery: str) -> None:
    headers = github_headers(body, "pull_request", delivery)
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200


async def test_ping_gets_pong(tmp_path, fake_discord, make_bot):
    bot = await make_bot(config(tmp_path, fake_discord))
    body = b'{"type": 1, "id": "1", "application_id": "2", "token": "t", "version": 1}'

    response = await bot.post("/discord/interactions", data=body, headers=signed(body))

    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {"type": 1}


async def test_bad_signatures_and_stale_timestamps_get_401(tmp_path, fake_discord, make_bot):
    bot = await make_bot(config(tmp_path, fake_discord))
    body = interaction("mute", selector="github")

    forged = await bot.post(
        "/discord/interactions", data=body, headers=signed(body, SigningKey.generate())
    )
    stale = await bot.post(
        "/discord/interactions", data=body, headers=signed(body, at=time.time() - 3600)
    )
    unsigned = await bot.post("/discord/interactions", data=body)
    tampered = await bot.post(
        "/discord/interactions", data=body.replace(b"github", b"gitlab"), headers=signed(body)
    )

    assert [r.status for r in (forged, stale, unsigned, tampered)] == [401, 401, 401, 401]
    assert "No mutes" in await notify(bot, "list")


async def test_mute_suppresses_and_unmute_restores_with_a_digest(tmp_path, fake_discord, make_bot):
    bot = await make_bot(config(tmp_path, fake_discord))

    reply = await notify(bot, "mute", selector="github", duration="2h", reason="deploy window")
    assert "Muted m1" in reply and "deploy window" in reply
    [announcement] = await fake_discord.wait_until(fake_discord.roots)
    assert "Mute m1" in json.dumps(announcement.versions[-1])
    await hook(bot, pull_request(), "d1")

    async def muted() -> bool:
        return "muted (kept, not posted) 1" in await notify(bot, "status")

    assert await eventually(muted)
    assert "while muted: 1 alert, 1 still firing" in await notify(bot, "unmute", id="m1")
    await fake_discord.wait_until(lambda: len(fake_discord.roots()) == 2)
    await hook(bot, pull_request("reopened"), "d2")
    roots = await fake_discord.wait_until(
        lambda: len(fake_discord.roots()) == 3 and fake_discord.roots()
    )
    texts = [json.dumps(m.versions[-1]) for m in roots]
    # The digest lists what was held back by card title; the reopened post is PR #2's card.
    assert "while muted" in texts[1] and PR_TITLE in texts[1]
    assert roots[2].title == PR_TITLE and all(m.channel_id == CHANNEL for m in roots)


async def test_options_errors_and_permissions(tmp_path, fake_discord, make_bot):
    bot = await make_bot(config(tmp_path, fake_discord, commands={"admins": ["7"]}))

    assert "did you mean 'severity'?" in await notify(bot, "mute", selector="sevrity=error")
    assert "bad duration" in await notify(bot, "mute", selector="github", duration="soon")
    assert "only admins may route" in await notify(bot, "route", selector="github", target="room")
    assert "only admins may mute everywhere" in await notify(
        bot, "mute", selector="github", everywhere=True
    )
    assert "Rerouted r1" in await notify(
        bot, "route", user="7", selector="github", target=f"<#{CHANNEL}>"
    )
    listing = await notify(bot, "list")
    assert "```" in listing and "r1" in listing and "→ room" in listing


async def test_until_resolved_is_a_duration_option(tmp_path, fake_discord, make_bot):
    bot = await make_bot(config(tmp_path, fake_discord))

    reply = await notify(bot, "mute", selector="github", duration="until-resolved")

    assert "nothing open matches" in reply


async def test_not_mounted_without_a_public_key(tmp_path, fake_discord, make_bot):
    settings = config(tmp_path, fake_discord)
    settings["discord"]["public_key"] = ""
    bot = await make_bot(settings)
    body = b'{"type": 1}'

    response = await bot.post("/discord/interactions", data=body, headers=signed(body))

    assert response.status == 404


def test_every_subcommand_has_the_options_the_design_names():
    subcommands = {o["name"]: [p["name"] for p in o["options"]] for o in COMMAND["options"]}
    assert subcommands == {
        "mute": ["selector", "duration", "reason", "everywhere"],
        "unmute": ["id"],
        "route": ["selector", "target", "duration"],
        "unroute": ["id"],
        "list": [],
        "status": [],
        "why": ["id"],
        "replay": ["id"],
        "test": ["target"],
        "help": [],
    }
    assert all(len(o["description"]) <= 100 for o in COMMAND["options"])


@pytest.mark.slow
async def test_register_commands_from_the_command_line(tmp_path, fake_discord):
    path = tmp_path / "bot.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
        f'[discord]\napi_url = "{fake_discord.url}"\nbot_token = "{BOT_TOKEN}"\n'
        f'application_id = "{APPLICATION}"\n'
    )

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(path),
            "discord",
            "register-commands",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        return process.returncode or 0, output.decode()

    code, output = await run("--guild", "5555")
    assert code == 0, output
    assert "registered /notify in guild 5555" in output
    [registered] = fake_discord.commands["5555"]
    assert registered["name"] == "notify" and len(registered["options"]) == 10

    path.write_text(path.read_text().replace(BOT_TOKEN, "wrong-token"))
    code, output = await run()
    assert code == 1 and "Discord refused the commands (HTTP 401" in output
    assert "global" not in fake_discord.commands


async def test_a_channel_mute_covers_a_webhook_target_posting_there(
    tmp_path, fake_discord, make_bot
):
    # The target names a webhook, not a channel: the bot asks Discord where it posts.
    settings = config(tmp_path, fake_discord)
    settings["targets"] = {"hooked": {"discord_webhook": DISCORD_WEBHOOK}}
    settings["routes"] = [{"to": ["hooked"]}]
    settings["discord"]["guild_ids"] = [GUILD]  # no channel target to learn the guild from
    bot = await make_bot(settings)
    webhook_channel = fake_discord.channel_of(DISCORD_WEBHOOK_ID)
    await fake_discord.wait_until(lambda: fake_discord.lookups)

    body = interaction("mute", selector="github").replace(
        CHANNEL.encode(), webhook_channel.encode()
    )
    response = await bot.post("/discord/interactions", data=body, headers=signed(body))
    assert "Muted m1" in (await response.json())["data"]["content"]
    [announcement] = await fake_discord.wait_until(fake_discord.roots)
    assert announcement.channel_id == webhook_channel  # announced through the webhook
    await hook(bot, pull_request(), "d1")

    async def muted() -> bool:
        return "muted (kept, not posted) 1" in await notify(bot, "status")

    assert await eventually(muted)
    assert len(fake_discord.roots()) == 1
