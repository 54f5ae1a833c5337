"""Doors a security review found open, checked against a real ``serve`` over sockets."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import fixture_bytes, github_headers
from tests.processes import ONE_CHANNEL, BotProcess, free_port, write_config

pytestmark = pytest.mark.slow

PUSH = fixture_bytes("github/push.json")
STRANGER = "127.0.0.2"
"""Another loopback address: the stranger's connections really come from elsewhere."""


async def started(tmp_path, extra: str = "", github: str = "") -> BotProcess:
    """A bot whose ``[sources.github]`` also has the keys in ``github``."""
    config = write_config(tmp_path, free_port(), extra=extra, routing=f"{github}\n{ONE_CHANNEL}")
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    return bot


def from_address(address: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def test_forged_requests_do_not_spend_the_senders_rate_limit(tmp_path):
    """Before the fix, 50 forged posts used up ``5/s`` and GitHub's delivery got 429."""
    bot = await started(tmp_path, github='rate_limit = "5/s"')
    try:
        forged = {**github_headers(PUSH, "push", "forged"), "X-Hub-Signature-256": "sha256=00"}
        async with from_address(STRANGER) as stranger:
            answers = []
            for _ in range(50):
                async with stranger.post(
                    f"{bot.url}/hooks/github", data=PUSH, headers=forged
                ) as response:
                    answers.append(response.status)
        assert set(answers) == {401, 429}  # refused unread once the forgeries add up
        async with (
            aiohttp.ClientSession() as github,
            github.post(
                f"{bot.url}/hooks/github", data=PUSH, headers=github_headers(PUSH, "push", "real")
            ) as response,
        ):
            assert response.status == 200, await response.text()
    finally:
        bot.terminate()
