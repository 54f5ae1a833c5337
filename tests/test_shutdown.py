"""SIGTERM (a deploy): stop accepting, finish the posts under way, exit well within
Heroku's 30 seconds, and deliver the rest after the restart, with nothing posted twice."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import github_headers, issue_body
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess, free_port, write_config

pytestmark = pytest.mark.slow

REPOS = [f"acme/r{n}" for n in range(4)]
ROUTES = "\n".join(
    f'[targets.r{n}]\nslack = "#r{n}"\n[[routes]]\nmatch = {{ repo = "acme/r{n}" }}\nto = ["r{n}"]'
    for n in range(4)
)


async def test_sigterm_finishes_posts_under_way_and_loses_nothing(tmp_path):
    fake = FakeSlack()
    fake.delay = 1.0  # each post takes a second: SIGTERM lands while four are under way
    port = free_port()
    server = TestServer(fake.app, host="127.0.0.1", port=port)
    await server.start_server()
    bot = BotProcess(write_config(tmp_path, port, routing=ROUTES), tmp_path / "bot.log")
    await bot.start()
    try:
        async with aiohttp.ClientSession() as session:
            for number in range(12):
                body = issue_body(number, repo=REPOS[number % 4])
                headers = github_headers(body, "issues", f"d{number}")
                async with session.post(f"{bot.url}/hooks/github", data=body, headers=headers) as r:
                    assert r.status == 200
            while len(fake.calls) < 4:  # the first post of each channel has reached Slack
                await asyncio.sleep(0.01)

            exit_took = asyncio.create_task(asyncio.to_thread(bot.terminate))
            while await accepting(session, bot.url):
                await asyncio.sleep(0.01)
            assert not exit_took.done()  # refused while the four are still being finished
            assert await exit_took < 25
        said = (tmp_path / "bot.log").read_text()
        assert "stopping: no new work" in said and "stopped: " in said  # not a silent exit

        finished = len(fake.posts())
        assert finished == 4  # the four under way were finished; no new one was started
        fake.delay = 0.0  # the restart only has to post the rest
        await bot.start()
        await fake.wait_for(12, timeout=30)
        await asyncio.to_thread(bot.terminate)  # what it was posting is finished, then counted
        posts = fake.posts()
        texts = sorted(p.title for p in posts)
        assert len(posts) == 12
        assert texts == sorted(f"Issue #{n}: issue {n}" for n in range(12))  # every one, none twice
    finally:
        await server.close()


async def accepting(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether the bot still takes a connection (and answers a request with no signature)."""
    try:
        async with session.post(f"{url}/hooks/github", data=b"{}"):
            return True
    except aiohttp.ClientError:
        return False
