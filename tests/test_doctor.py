"""The chat checks: at start (in the background, beside the listener), as ``doctor``, in
``status`` and the inspector. Fake Slack and Discord answer with success and refusals."""

from __future__ import annotations

import pytest

from bot.commands import Caller
from bot.intake.web import CHECKUP, COMMANDS
from tests.conftest import (
    SLACK_TOKEN,
    base_config,
    discord_section,
    eventually,
)
from tests.fakes.discord import BOT_TOKEN
from tests.processes import BotProcess, write_config
from tests.test_simulate import run_cli

pytestmark = pytest.mark.slow

CHANNELS = """
[targets.eng]
slack = "C0ENG"
[targets.ops]
slack = "C0OPS"
[[routes]]
to = ["eng", "ops"]
"""


async def test_start_up_says_whose_token_it_is_and_which_channels_lack_the_bot(tmp_path, slack):
    fake, port = slack
    fake.channels = {
        "C0ENG": {"id": "C0ENG", "name": "eng", "is_member": True},
        "C0OPS": {"id": "C0OPS", "name": "ops", "is_member": False},
    }
    bot = BotProcess(write_config(tmp_path, port, routing=CHANNELS), tmp_path / "bot.log")
    await bot.start()
    try:

        async def checked() -> list[str]:
            return [m for m in bot.logged_messages() if "target 'ops'" in m]

        [ops] = await eventually(checked)
        messages = bot.logged_messages()
        assert "posting to Slack as @chatops in workspace Fake Workspace" in messages
        assert "target 'eng' (C0ENG): #eng is visible and the bot is a member" in messages
        assert "/invite @chatops" in ops
    finally:
        bot.terminate()


async def test_a_wrong_slack_token_is_one_line_at_start_naming_the_key(tmp_path, slack):
    _fake, port = slack
    env = {"BOT_SLACK__BOT_TOKEN": "xoxb-revoked"}
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log", env=env)
    await bot.start()  # listening (healthz answers) whatever Slack says
    try:

        async def refused() -> list[str]:
            return [m for m in bot.logged_messages() if "Slack refused" in m]

        [line] = await eventually(refused)
        assert "invalid_auth" in line and "BOT_SLACK__BOT_TOKEN" in line
        assert "xoxb-revoked" not in bot.log.read_text()
    finally:
        bot.terminate()


async def test_doctor_exits_0_when_token_and_channels_work(tmp_path, slack):
    fake, port = slack
    fake.channels = {
        "C0ENG": {"id": "C0ENG", "name": "eng", "is_member": True},
        "C0OPS": {"id": "C0OPS", "name": "ops", "is_member": True},
    }
    config = write_config(tmp_path, port, routing=CHANNELS)

    code, output = await run_cli("--config", str(config), "doctor")

    assert code == 0, output
    assert "ok: posting to Slack as @chatops in workspace Fake Workspace" in output
    assert [c.method for c in fake.calls if c.method.startswith("chat.")] == []


async def test_doctor_exits_1_on_a_wrong_token_or_a_channel_it_cannot_see(tmp_path, slack):
    fake, port = slack
    fake.channels = {"C0ENG": {"id": "C0ENG", "name": "eng", "is_member": True}}
    config = write_config(tmp_path, port, routing=CHANNELS)

    code, output = await run_cli("--config", str(config), "doctor")
    assert code == 1, output
    assert "problem: target 'ops' (C0OPS): no channel the bot can see" in output
    assert "/invite @chatops" in output

    fake.token = "xoxb-another"
    code, output = await run_cli("--config", str(config), "doctor")
    assert code == 1, output
    assert "Slack refused [slack] bot_token: invalid_auth" in output
    assert SLACK_TOKEN not in output


DISCORD_TARGETS = """
[targets.room]
discord = "1001"
[targets.secret-room]
discord = "1002"
[[routes]]
to = ["room", "secret-room"]
"""


async def test_doctor_checks_the_discord_token_and_each_channel(tmp_path, fake_discord):
    api = discord_section(fake_discord, BOT_TOKEN)["api_url"]
    config = tmp_path / "bot.toml"
    body = f'[discord]\nbot_token = "{BOT_TOKEN}"\napi_url = "{api}"\n{DISCORD_TARGETS}'
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n{body}')

    code, output = await run_cli("--config", str(config), "doctor")
    assert code == 0, output
    assert "ok: posting to Discord as @chatops-bot" in output
    assert "ok: target 'secret-room': channel #room-1002 is visible" in output

    fake_discord.hidden_channels.add("1002")
    code, output = await run_cli("--config", str(config), "doctor")
    assert code == 1, output
    assert "target 'secret-room': the bot cannot see channel 1002 (403 Missing Access)" in output
    assert "View Channel" in output

    config.write_text(config.read_text().replace(BOT_TOKEN, "not-the-token"))
    code, output = await run_cli("--config", str(config), "doctor")
    assert code == 1, output
    assert "Discord refused [discord] bot_token: 401: Unauthorized" in output


async def test_status_and_the_inspector_show_the_checks(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url, inspector={"token": "t" * 32})
    bot = await make_bot(config)

    async def checked() -> bool:
        return bot.app[CHECKUP].findings is not None

    await eventually(checked)
    reply = await bot.app[COMMANDS].run("status", Caller("cli", "ops"))
    assert "ok: posting to Slack as @chatops in workspace Fake Workspace" in reply.text
    page = await bot.get("/inspect", headers={"Authorization": f"Bearer {'t' * 32}"})
    assert "posting to Slack as @chatops in workspace Fake Workspace" in await page.text()
