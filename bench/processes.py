"""The processes of one scenario: the bot (or the baseline), the fake Slack, the load.

Each runs as a real child process on loopback, so the bot is measured the way it is
deployed (``python -m bot serve`` with a config file) and the load generator never
shares an interpreter with the server it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bench.payloads import ALERTMANAGER_TOKEN, GITHUB_SECRET, SLACK_TOKEN, channel_repo

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


POLL_S = 0.01
"""How often a starting or stopping process is looked at: every scenario waits on both."""


class Process(Protocol):
    """What a scenario starts before it measures and stops after."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Service:
    """A child process serving HTTP on ``port``; ready once ``/healthz`` answers."""

    def __init__(
        self, name: str, argv: list[str], log: Path, port: int, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self.port = port
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *self.argv],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self._tail()}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(POLL_S)
        raise TimeoutError(f"{self.name} did not start: {self._tail()}")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL: after a scenario its backlog is of no interest."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        if not await self._exits(within=2):
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 5)

    async def _exits(self, within: float) -> bool:
        """Whether the process ends within ``within`` seconds, noticed within ``POLL_S``
        (``Popen.wait`` with a timeout backs off to 50 ms between looks)."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.process.poll() is None:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(POLL_S)
        return True

    def pids(self) -> list[int]:
        """The process and every process it started (``serve``'s planner), by pid."""
        assert self.process is not None
        found, index = [self.process.pid], 0
        while index < len(found):
            pid = found[index]
            with contextlib.suppress(FileNotFoundError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
                found += [int(child) for child in children.split()]
            index += 1
        return found

    def pause(self) -> None:
        """SIGSTOP: the processes take no CPU (and do no background work) until resumed."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def signal(self, signum: int, *, started_only: bool = False) -> None:
        """``signum`` to every process, or to those it started alone (the planner)."""
        for pid in self.pids()[1:] if started_only else self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def memory_kb(self) -> dict[str, int]:
        """Current (``VmRSS``) and peak (``VmHWM``) resident memory, from /proc: summed
        over the processes, so the peak is each one's peak added (an upper bound)."""
        found = {"VmRSS": 0, "VmHWM": 0}
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            for line in status.splitlines():
                key, _, value = line.partition(":")
                if key in found:
                    found[key] += int(value.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time the processes have used so far, from /proc (a child that
        ended counts in its parent's ``cutime`` and ``cstime``)."""
        assert self.process is not None
        ticks = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except FileNotFoundError:  # it ended since: its parent counts it
                continue
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            if pid == self.process.pid:
                ticks += int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")

    async def get_json(self, path: str) -> Any:
        return json.loads(await self.get_text(path))

    async def get_text(self, path: str) -> str:
        async with aiohttp.ClientSession() as session, session.get(self.url + path) as response:
            return await response.text()

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def state(self) -> str:
        """Whether it still runs, and the end of its log: what a failed run needs said."""
        assert self.process is not None
        code = self.process.poll()
        alive = "running" if code is None else f"exited with {code}"
        return f"{self.name} {alive}; its log ends:\n{self._tail()}"


RESULT_LIMIT = 1 << 28
"""Bytes one result line may take: the e2e scenario reports every send time."""


class LoadProcess:
    """The load generator's process (``python -m bench.load``), one per scenario.

    It runs the scenario's jobs one after another, each on a fresh event loop and fresh
    connections: a process per job spent longer importing aiohttp than a short slice
    spends sending, and that start-up fell inside the slice's wall time.
    """

    def __init__(self, workdir: Path) -> None:
        self.log = workdir / "load.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Ready once it has imported everything and waits for its first job."""
        with self.log.open("ab") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.load",
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                limit=RESULT_LIMIT,
            )
        await self._line()

    async def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job to completion and return its result."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(job).encode() + b"\n")
        await self.process.stdin.drain()
        result: dict[str, Any] = json.loads(await self._line())
        return result

    async def stop(self) -> None:
        """End of its jobs (stdin closed); killed if it does not finish by itself."""
        if self.process is None or self.process.returncode is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def _line(self) -> bytes:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            await self.process.wait()
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"load generator failed: {tail}")
        return line


def channel_id(channel: int) -> str:
    return f"CBENCH{channel:03d}"


def bot_config(
    workdir: Path,
    slack_url: str,
    *,
    channels: int,
    alerts: bool = False,
    group_interval: str | None = None,
) -> Path:
    """A TOML config: pushes to one channel per repository, alerts to ``#alerts``.

    One route per channel, as a team with many repositories writes it; routing walks
    them in order, so this is routing's realistic worst case rather than its best.
    """
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        "[store]",
        f"url = {json.dumps('sqlite:///' + str(workdir / 'bot.db'))}",
        "[slack]",
        f'bot_token = "{SLACK_TOKEN}"',
        f"api_url = {json.dumps(slack_url + '/api/')}",
        "[sources.github]",
        'provider = "github"',
        f'secret = "{GITHUB_SECRET}"',
    ]
    if alerts:
        lines += [
            "[sources.prometheus]",
            'provider = "alertmanager"',
            f'token = "{ALERTMANAGER_TOKEN}"',
            "group = false  # one event per alert: a digest then counts alerts, not groups",
            "[targets.alerts]",
            'slack = "CBENCHALERTS"',
            "[[routes]]",
            'match = { source = "prometheus" }',
            'to = ["alerts"]',
        ]
        if group_interval is not None:
            lines.append(f'group_interval = "{group_interval}"')
    for channel in range(channels):
        lines += [f"[targets.c{channel:03d}]", f'slack = "{channel_id(channel)}"']
    for channel in range(channels):
        lines += [
            "[[routes]]",
            f'match = {{ repo = "{channel_repo(channel)}" }}',
            f'to = ["c{channel:03d}"]',
        ]
    path = workdir / "bot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bot_service(workdir: Path, config: Path) -> Service:
    port = free_port()
    argv = ["-m", "bot", "--config", str(config), "serve"]
    env = {"PORT": str(port), "LOG_FORMAT": "json"}
    return Service("bot", argv, workdir / "bot.log", port, env)


def fake_slack_service(workdir: Path, *, down: bool = False) -> Service:
    port = free_port()
    argv = ["-m", "bench.fake_slack", str(port)] + (["--down"] if down else [])
    return Service("fake-slack", argv, workdir / "fake_slack.log", port)


def baseline_service(workdir: Path) -> Service:
    port = free_port()
    return Service("baseline", ["-m", "bench.baseline", str(port)], workdir / "baseline.log", port)
