"""kill -9 loses nothing: accepted events are delivered after a restart."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import github_headers, issue_body
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess, free_port, write_config

pytestmark = pytest.mark.slow


async def test_accepted_events_survive_kill_9_and_are_delivered_after_restart(tmp_path):
    slack_port = free_port()  # nothing listens yet: Slack is down
    bot = BotProcess(write_config(tmp_path, slack_port), tmp_path / "bot.log")
    await bot.start()
    async with aiohttp.ClientSession() as session:
        for number in range(8):
            body = issue_body(number)
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
        titles = sorted(p.title for p in posts)
        assert titles == sorted(f"Issue #{n}: issue {n}" for n in range(8))
        bot.terminate()
    finally:
        await server.close()
