"""kill -9 loses nothing: accepted events are delivered after a restart."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import GITHUB_SECRET, SLACK_TOKEN, github_headers
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess, free_port

pytestmark = pytest.mark.slow


def write_config(tmp_path, slack_port: int) -> str:
    path = tmp_path / "bot.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{tmp_path / "bot.db"}"
[delivery]
retry_base = "0.1s"
retry_cap = "0.5s"
[slack]
bot_token = "{SLACK_TOKEN}"
api_url = "http://127.0.0.1:{slack_port}/api/"
[sources.github]
provider = "github"
secret = "{GITHUB_SECRET}"
[targets.eng]
slack = "#eng"
[[routes]]
to = ["eng"]
""")
    return str(path)


def issue(number: int) -> bytes:
    return json.dumps(
        {
            "action": "opened",
            "issue": {
                "number": number,
                "title": f"issue {number}",
                "labels": [],
                "html_url": f"https://github.com/a/b/issues/{number}",
            },
            "repository": {"full_name": "a/b"},
            "sender": {"login": "mona"},
        }
    ).encode()


async def test_accepted_events_survive_kill_9_and_are_delivered_after_restart(tmp_path):
    slack_port = free_port()  # nothing listens yet: Slack is down
    bot = BotProcess(tmp_path / "bot.toml", tmp_path / "bot.log")
    write_config(tmp_path, slack_port)
    await bot.start()
    async with aiohttp.ClientSession() as session:
        for number in range(8):
            body = issue(number)
            async with session.post(
                f"{bot.url}/hooks/github",
                data=body,
                headers=github_headers(body, "issues", f"d{number}"),
            ) as r:
                assert r.status == 200
    bot.kill()

    fake = FakeSlack()
    server = TestServer(fake.app, host="127.0.0.1", port=slack_port)
    await server.start_server()
    try:
        await bot.start()
        posts = await fake.wait_for(8, timeout=30)
        titles = sorted(json.loads(json.dumps(p.body))["text"] for p in posts)
        assert titles == sorted(f"[a/b] Issue #{n}: issue {n}" for n in range(8))
        bot.terminate()
    finally:
        await server.close()
