"""History is history: an event is described by the routes, targets and templates chosen
when it was planned, with today's config's choice shown apart where it differs."""

from __future__ import annotations

import asyncio
import sys
import tomllib
from pathlib import Path

import pytest

from bot.commands import Caller, CommandCore
from bot.config.settings import Settings
from bot.intake.web import STORE
from bot.ops.inspector.page import Query, gather
from bot.pipeline.history import history_lines
from bot.store import open_store
from tests.conftest import base_config, eventually, github_headers, issue_body
from tests.processes import ROOT

THEN = [
    {"match": {"event": "issues.*"}, "to": ["eng"]},
    {"to": ["ops"]},
]
TODAY = [
    {"match": {"event": "push"}, "to": ["eng"]},
    {"to": ["ops"]},
]
"""Route 1 changed meaning between the event and the question."""


async def planned_under_then(tmp_path, fake_slack, make_bot) -> str:
    config = base_config(tmp_path, fake_slack.url, routes=THEN)
    config["targets"]["ops"] = {"slack": "#ops"}
    bot = await make_bot(config)
    body = issue_body(7)
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", "d-1")
    )
    inbox = int((await response.json())["id"])

    async def normalized():
        return await bot.app[STORE].events_of(inbox)

    [event] = await eventually(normalized)
    return str(event.id)


def today_settings(tmp_path) -> Settings:
    config = base_config(tmp_path, routes=TODAY)
    config["targets"]["ops"] = {"slack": "#ops"}
    return Settings(**config)


async def test_why_shows_the_route_as_it_was_and_today_apart(tmp_path, fake_slack, make_bot):
    event_id = await planned_under_then(tmp_path, fake_slack, make_bot)
    settings = today_settings(tmp_path)
    store = await open_store(settings.store.url)
    try:
        reply = await CommandCore(settings, store).run(f"why {event_id}", Caller("cli", "ops"))
        context = await gather(store, settings, Query())
    finally:
        await store.close()

    lines = reply.text.splitlines()
    assert "  matched route 1 (event is issues.* -> eng) -> eng" in lines
    assert "  template for eng: github/issues.j2" in lines
    assert lines[lines.index("  today's config would differ:") + 1] == (
        "    route 2 (every event -> ops) -> ops"
    )
    [row] = [r for r in context["rows"] if r.activity.event is not None]
    assert "matched route 1 (event is issues.* -> eng) -> eng" in row.routes
    assert "route 1 (event is push -> eng)" not in " ".join(row.routes)


async def test_why_says_nothing_differs_when_the_config_is_the_same(tmp_path, fake_slack, make_bot):
    event_id = await planned_under_then(tmp_path, fake_slack, make_bot)
    config = base_config(tmp_path, routes=THEN)
    config["targets"]["ops"] = {"slack": "#ops"}
    settings = Settings(**config)
    store = await open_store(settings.store.url)
    try:
        reply = await CommandCore(settings, store).run(f"why {event_id}", Caller("cli", "ops"))
    finally:
        await store.close()
    assert "matched route 1 (event is issues.* -> eng) -> eng" in reply.text
    assert "today's config would differ" not in reply.text


@pytest.mark.slow
async def test_explain_id_shows_the_recorded_decision(tmp_path, fake_slack, make_bot):
    event_id = await planned_under_then(tmp_path, fake_slack, make_bot)
    path = tmp_path / "today.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
        '[sources.github]\nprovider = "github"\nsecret = "s"\n'
        '[targets.eng]\nslack = "#eng"\n[targets.ops]\nslack = "#ops"\n'
        '[[routes]]\nmatch = { event = "push" }\nto = ["eng"]\n[[routes]]\nto = ["ops"]\n'
    )
    assert tomllib.loads(path.read_text())["routes"][0]["to"] == ["eng"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "explain", "--id", event_id, "--config", str(path),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await process.communicate())[0].decode()

    assert process.returncode == 0, output
    assert "matched route 1 (event is issues.* -> eng) -> eng" in output
    assert "today's config would differ:" in output
    assert Path(tmp_path / "bot.db").exists()


def test_an_event_recorded_before_decisions_were_kept_says_it_is_read_with_today(tmp_path):
    detail = {"source": "github", "provider": "github", "event": "issues.opened", "title": "t"}

    lines = history_lines(today_settings(tmp_path), None, detail)

    assert lines == [
        "recorded before decisions were kept with events; today's config would send it:",
        "  route 2 (every event -> ops) -> ops",
    ]
