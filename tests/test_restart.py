"""kill -9 loses nothing: accepted events are delivered after a restart, on every chat
platform (its fake is down until the bot is killed, then up at the same address)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.chats import Chat, DiscordChat, MattermostChat, SlackChat, TeamsChat, TelegramChat
from tests.conftest import github_headers, issue_body
from tests.fakes.discord import FakeDiscord
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.slack import FakeSlack
from tests.fakes.teams import FakeTeams
from tests.fakes.telegram import FakeTelegram
from tests.processes import BotProcess, free_port, write_config

pytestmark = pytest.mark.slow

VIEWS: dict[str, tuple[Any, Any, str]] = {
    "slack": (FakeSlack, SlackChat, "/api/"),
    "discord": (FakeDiscord, DiscordChat, "/api/v10"),
    "mattermost": (FakeMattermost, MattermostChat, ""),
    "telegram": (FakeTelegram, TelegramChat, ""),
    "teams": (FakeTeams, TeamsChat, ""),
}
"""Each platform's fake, its view (tests/chats.py) and the path its API is served under."""

ROOMS = ("ops", "eng")
"""Event ``n`` goes to ``ROOMS[n % 2]`` (routed by its repo): four a room fit every
platform's burst, so the delivery after the restart is not a wait for the pace."""


def toml(tables: dict[str, dict[str, str]]) -> str:
    """Tables of strings as TOML (a JSON string is a TOML basic string)."""
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
        for name, keys in tables.items()
    )


@pytest.mark.parametrize("platform", list(VIEWS))
async def test_accepted_events_survive_kill_9_and_are_delivered_after_restart(tmp_path, platform):
    port = free_port()  # nothing listens yet: the chat is down
    make_fake, make_view, under = VIEWS[platform]
    fake = make_fake()
    fake.url = f"http://127.0.0.1:{port}{under}"
    chat: Chat = make_view(fake)
    sections = {} if platform == "slack" else chat.config()
    routing = "".join(
        toml({f"targets.{room}": chat.target(room)})
        + f'[[routes]]\nmatch = {{ repo = "a/{room}" }}\nto = ["{room}"]\n'
        for room in ROOMS
    )
    config = write_config(
        tmp_path,
        port if platform == "slack" else free_port(),
        extra=toml(sections),
        routing=routing,
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    async with aiohttp.ClientSession() as session:
        for number in range(8):
            body = issue_body(number, repo=f"a/{ROOMS[number % 2]}")
            async with session.post(
                f"{bot.url}/hooks/github",
                data=body,
                headers=github_headers(body, "issues", f"d{number}"),
            ) as r:
                assert r.status == 200
    bot.kill()

    server = TestServer(fake.app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        await bot.start()
        await chat.wait_for(8, timeout=30)
        for number in range(8):  # each one, once, where it was routed
            shown = chat.shown(ROOMS[number % 2])
            assert sum(f"Issue #{number}: issue {number}" in text for text in shown) == 1, shown
        bot.terminate()
    finally:
        await server.close()
