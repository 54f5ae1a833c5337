"""``serve`` plans in a second process on the same SQLite file (``[server] planner``).

The bot runs as an operator runs it; the planner process is found the way an operator
finds it (``/proc``), and killed with real signals.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from bot.config.settings import Settings
from bot.pipeline.planner_process import planner_command, usable_cpus
from tests.conftest import base_config, issue_body
from tests.processes import BotProcess, write_config
from tests.test_crashes import SLOW_TEMPLATE, rows, send, until
from tests.test_event_coverage import fork_pull_request_and_its_ci

pytestmark = pytest.mark.slow


def planner_config(tmp_path: Path, port: int, mode: str = "process") -> Path:
    return write_config(tmp_path, port, f'[server]\nplanner = "{mode}"')


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def events_counted(bot: BotProcess) -> float:
    """``bot_events_total`` as the web process's ``/metrics`` reports it."""
    async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/metrics") as answer:
        text = await answer.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("bot_events_total{")
    )


def test_serve_plans_in_a_second_process_where_a_second_core_can_run_it(tmp_path):
    def command(cpus: int, **server: str) -> list[str] | None:
        return planner_command(Settings(**base_config(tmp_path, server=server)), "bot.toml", cpus)

    assert command(2)[-4:] == ["bot", "--config", "bot.toml", "plan"]  # the default, auto
    assert command(1) is None  # one core: the two processes would only take turns on it
    assert command(1, planner="process") is not None
    assert command(8, planner="inline") is None


def listening_line(bot: BotProcess) -> dict[str, object]:
    lines = [json.loads(line) for line in bot.log.read_text().splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line["message"] == "listening"]
    return line


def test_auto_counts_the_cores_a_quota_leaves_not_only_those_it_may_run_on(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    affinity = len(os.sched_getaffinity(0))
    cpu_max.write_text("100000 100000\n")  # docker run --cpus=1
    assert usable_cpus(cpu_max) == 1.0
    cpu_max.write_text("max 100000\n")  # no quota
    assert usable_cpus(cpu_max) == affinity
    cpu_max.write_text("150000 100000\n")
    assert usable_cpus(cpu_max) == min(affinity, 1.5)
    assert usable_cpus(tmp_path / "absent") == affinity  # no cgroup v2


@pytest.mark.skipif(usable_cpus() < 2, reason="needs two cores to give the bot")
@pytest.mark.parametrize(("cores", "planner"), [(1, "inline"), (2, "process")])
async def test_by_default_the_cores_it_may_use_choose_where_it_plans(
    tmp_path, slack, cores, planner
):
    fake, port = slack
    cpus = set(sorted(os.sched_getaffinity(0))[:cores])
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log", cpus=cpus)
    await bot.start()
    status, _ = await send(bot, issue_body(4), "d-4")
    assert status == 200
    await until(lambda: len(fake.posts()) == 1)
    assert listening_line(bot)["planner"] == planner
    assert len(bot.children()) == (planner == "process")
    bot.terminate()


async def test_the_planner_process_plans_and_serve_counts_its_events(tmp_path, slack):
    fake, port = slack
    bot = BotProcess(planner_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    [planner] = await until(bot.children)
    assert Path(f"/proc/{planner}/cmdline").read_bytes().split(b"\0")[-2] == b"plan"

    status, _ = await send(bot, issue_body(1), "d-1")
    assert status == 200
    await until(lambda: len(fake.posts()) == 1)
    assert await events_counted(bot) == 1  # counted by the planner, reported to serve
    bot.terminate()
    assert not alive(planner)


async def test_a_planner_that_dies_is_started_again_and_nothing_waits(tmp_path, slack):
    fake, port = slack
    bot = BotProcess(planner_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    [first] = await until(bot.children)
    os.kill(first, signal.SIGKILL)
    await until(lambda: bot.children() not in ([], [first]))

    status, _ = await send(bot, issue_body(2), "d-2")
    assert status == 200
    await until(lambda: len(fake.posts()) == 1)
    log = (tmp_path / "bot.log").read_text()
    assert "the planner process stopped; starting it again" in log
    bot.terminate()


async def test_what_a_killed_planner_held_is_planned_by_the_next_at_once(tmp_path, slack):
    """Its claims would otherwise wait out their lease (30 s) before the next planner took
    them. A slow template keeps the planner on the request long enough to kill it."""
    fake, port = slack
    templates = tmp_path / "templates" / "github"
    templates.mkdir(parents=True)
    (templates / "issues.j2").write_text(SLOW_TEMPLATE)
    config = write_config(
        tmp_path,
        port,
        f'[server]\nplanner = "process"\n[templates]\ndir = "{tmp_path / "templates"}"',
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    [first] = await until(bot.children)
    status, _ = await send(bot, issue_body(4), "d-4")
    assert status == 200
    claimed = "SELECT id FROM inbox WHERE state = 'new' AND lease_until IS NOT NULL"
    await until(lambda: rows(tmp_path, claimed))
    os.kill(first, signal.SIGKILL)  # it dies holding the request, mid-render

    await until(lambda: len(fake.posts()) == 1, timeout=20)  # well within the lease
    assert rows(tmp_path, "SELECT state, attempts FROM inbox") == [("done", 2)]
    bot.terminate()


async def test_when_serve_is_killed_its_planner_stops_by_itself(tmp_path, slack):
    _, port = slack
    bot = BotProcess(planner_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    [planner] = await until(bot.children)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGKILL)  # serve alone, as `kill -9 <pid>` does
    bot.process.wait(10)
    await until(lambda: not alive(planner))

    await bot.start()  # and the next start plans as before
    status, _ = await send(bot, issue_body(3), "d-3")
    assert status == 200
    await until(lambda: rows(tmp_path, "SELECT state FROM inbox") == [("done",)])
    bot.terminate()


async def test_inline_plans_in_the_web_process(tmp_path, slack):
    fake, port = slack
    bot = BotProcess(planner_config(tmp_path, port, "inline"), tmp_path / "bot.log")
    await bot.start()
    status, _ = await send(bot, issue_body(4), "d-4")
    assert status == 200
    await until(lambda: len(fake.posts()) == 1)
    assert bot.children() == []
    assert await events_counted(bot) == 1
    bot.terminate()


async def test_a_backlog_planned_at_once_keeps_a_forks_ci_results_in_its_thread(tmp_path, slack):
    """The planner plans a batch's next request while earlier ones commit; a CI result that
    finds its pull request by the head commit waits for the pull request's commit."""
    fake, port = slack
    bot = BotProcess(planner_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    [planner] = await until(bot.children)
    os.kill(planner, signal.SIGSTOP)  # the requests wait for it together, as in a backlog
    async with aiohttp.ClientSession() as session:
        for body, headers in fork_pull_request_and_its_ci():
            async with session.post(f"{bot.url}/hooks/github", data=body, headers=headers) as r:
                assert r.status == 200
    os.kill(planner, signal.SIGCONT)

    await until(lambda: len(fake.posts()) == 3)
    threads = [call.body.get("thread_ts") for call in fake.posts()]
    assert threads[0] is None
    assert threads[1] is not None and threads[1] == threads[2]
    bot.terminate()
