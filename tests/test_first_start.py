"""What a first start tells a new user: where to point each sender, what to fix, and
what the bot's URL is when opened in a browser."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.config.settings import load_config
from tests.processes import BotProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


async def start_example(tmp_path: Path, **env: str) -> BotProcess:
    bot = BotProcess(
        EXAMPLE, tmp_path / "bot.log", env={"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", **env}
    )
    await bot.start()
    return bot


async def test_start_up_names_each_hook_path_and_sums_the_placeholders(tmp_path):
    sources = load_config(EXAMPLE).sources
    bot = await start_example(tmp_path)
    try:
        said = bot.logged_messages()
        async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/") as response:
            assert response.status == 200
            index = await response.json()
    finally:
        bot.terminate()

    for name, source in sources.items():
        assert f"source {name} ({source.provider}): senders POST to /hooks/{name}" in said
    [placeholders] = [line for line in said if "placeholder secret" in line]
    assert placeholders.startswith(f"{len(sources)} of {len(sources)} sources still use")
    assert index["name"] == "bot" and index["version"]
    assert index["hooks"] == {name: f"/hooks/{name}" for name in sources}
    assert index["links"]["health"] == "/healthz"
    assert "inspector" not in index["links"]  # off until [inspector] token is set


async def test_the_index_links_the_inspector_when_it_is_on(tmp_path):
    bot = await start_example(tmp_path, BOT_INSPECTOR__TOKEN="a-long-random-token")
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/") as response:
            index = await response.json()
    finally:
        bot.terminate()

    assert index["links"]["inspector"] == "/inspect"
    assert "a-long-random-token" not in str(index)
