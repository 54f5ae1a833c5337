"""The README's "Five minutes to the first message" and its shell commands work as printed.

Every ``sh`` block of the guide, and the "Without chat" commands, run through ``bash``
line by line in a fresh folder holding only ``config.example.toml``, against a fake
Slack: ``export`` lines set the environment (placeholders such as ``xoxb-...`` get test
values), ``serve`` lines start the bot in the background (the next one replaces it),
``pip install`` is skipped (this environment has the project installed), and the
guide's TOML edit of step 5 is applied to ``bot.toml`` as the text says: in place of
the target and the first route that are there.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import SLACK_TOKEN, eventually
from tests.processes import ROOT, free_port

pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text()
GUIDE = README.split("## Five minutes to the first message", 1)[1].split("\n## ", 1)[0]
WITHOUT_CHAT = README.split("**Without chat.**", 1)[1].split("\n## ", 1)[0]
BLOCK = re.compile(r"^( *)```(sh|toml)\n(.*?)^\1```", re.M | re.S)
PLACEHOLDERS = {"BOT_SLACK__BOT_TOKEN": SLACK_TOKEN, "BOT_SOURCES__GITHUB__SECRET": "guide"}


def blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block, its indentation removed."""
    found = []
    for indent, language, code in BLOCK.findall(text):
        lines = [line.removeprefix(indent) for line in code.splitlines()]
        found.append((language, "\n".join(lines)))
    return found


class Guide:
    """A reader's terminal: one folder, one environment, the bot in the background."""

    def __init__(self, folder: Path, slack_url: str) -> None:
        self.folder = folder
        self.port = free_port()
        python = folder / ".bin"
        python.mkdir()
        (python / "python").symlink_to(sys.executable)
        self.env = {
            **os.environ,
            "PATH": f"{python}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "PORT": str(self.port),
            "BOT_SLACK__API_URL": slack_url,
        }
        self.env.pop("BOT_CONFIG", None)
        self.bot: subprocess.Popen[bytes] | None = None
        self.outputs: list[tuple[str, str]] = []

    async def run(self, line: str) -> None:
        words = shlex.split(line, comments=True)
        if not words or words[:2] == ["pip", "install"]:
            return
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            self.env[name] = PLACEHOLDERS[name] if "..." in value else value
            return
        if words[:4] == ["python", "-m", "bot", "serve"]:
            await self.serve(line)
            return
        # Not subprocess.run: the fake Slack answers from this test's event loop.
        done = await asyncio.create_subprocess_exec(
            "bash", "-c", line, cwd=self.folder, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = (await asyncio.wait_for(done.communicate(), 60))[0].decode()
        assert done.returncode == 0, f"{line}\n{output}"
        self.outputs.append((line, output))

    async def serve(self, line: str) -> None:
        self.stop()
        log = (self.folder / "serve.log").open("ab")
        self.bot = subprocess.Popen(
            ["bash", "-c", f"exec {line}"], cwd=self.folder, env=self.env, stdout=log, stderr=log
        )

        async def healthy() -> bool:
            url = f"http://127.0.0.1:{self.port}/healthz"
            try:
                async with aiohttp.ClientSession() as session, session.get(url) as answer:
                    return answer.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(healthy, timeout=20)

    def stop(self) -> None:
        if self.bot is not None:
            self.bot.terminate()
            self.bot.wait(30)
            self.bot = None

    def output_of(self, command: str) -> str:
        return "\n".join(out for line, out in self.outputs if command in line)


def edit_as_step_5_says(bot_toml: Path, block: str) -> None:
    """Change the target's channel and the first route in place, as the guide asks."""
    wanted = tomllib.loads(block)  # one table each: the block is valid TOML by itself
    text = bot_toml.read_text()
    target = re.search(r"^\[targets\.eng\]\nslack = .*$", text, re.M)
    route = re.search(r"^\[\[routes\]\]\nmatch = .*$", text, re.M)
    assert target and route, "step 5 names a target and a route that bot.toml must have"
    [target_lines, route_lines] = block.strip().split("\n\n")
    text = text.replace(target[0], "\n".join(target_lines.splitlines()[:2]))
    text = text.replace(route[0], "\n".join(route_lines.splitlines()[:2]), 1)
    bot_toml.write_text(text)
    edited = tomllib.loads(text)
    assert edited["targets"]["eng"] == wanted["targets"]["eng"]
    assert {k: edited["routes"][0][k] for k in ("match", "to")} == wanted["routes"][0]


async def test_the_guide_and_the_shell_examples_work_as_printed(tmp_path, fake_slack):
    fake_slack.channels["C0123ENG"] = {"id": "C0123ENG", "name": "eng", "is_member": True}
    (tmp_path / "config.example.toml").write_text((ROOT / "config.example.toml").read_text())
    guide = Guide(tmp_path, fake_slack.url)
    try:
        for language, code in blocks(GUIDE) + blocks(WITHOUT_CHAT):
            if language == "toml":
                edit_as_step_5_says(tmp_path / "bot.toml", code)
                continue
            for line in code.splitlines():
                await guide.run(line)
    finally:
        guide.stop()

    opened = guide.output_of("simulate github pull_request.opened")
    assert "pull_request.opened: posted to #eng" in opened
    assert "alert.firing: posted to #eng" in guide.output_of("simulate prometheus alert.firing")
    assert "workflow_run.failed: posted to eng" in guide.output_of("workflow_run.failed")
    assert "ok: posting to Slack as @chatops" in guide.output_of("doctor")
    assert "posted" in guide.output_of("why 1.0")
    assert "=error" not in os.listdir(tmp_path)
    channels = [call.body["channel"] for call in fake_slack.posts()]
    assert channels.count("#eng") >= 3 and "C0123ENG" in channels
