"""Run the bot as a real process, the way an operator does, for crash and restart tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LogPipe:
    """The bot's log output through a pipe the test can stop draining.

    Once ``stall()`` fills the pipe, the bot's next log line blocks its event loop, so the
    process freezes exactly where it logs: right after an event is stored and before it
    is acknowledged, for instance. No hook in the bot: a full pipe is a real fault.
    """

    def __init__(self, log: Path) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._copy, daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        with self._log.open("ab") as out:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.read_fd], [], [], 0.02)
                if ready:
                    chunk = os.read(self.read_fd, 65536)
                    if not chunk:
                        return
                    out.write(chunk)
                    out.flush()

    def stall(self) -> None:
        self._stop.set()
        self._thread.join()
        # A second open file description, so non-blocking applies to ours alone.
        filler = os.open(f"/proc/self/fd/{self.write_fd}", os.O_WRONLY | os.O_NONBLOCK)
        try:
            for size in (4096, 1):
                while True:
                    try:
                        os.write(filler, b"\n" * size)
                    except BlockingIOError:
                        break
        finally:
            os.close(filler)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self.read_fd)
        os.close(self.write_fd)


class BotProcess:
    """``python -m bot serve`` on a free port (or ``work``: no HTTP); ``kill()`` is ``kill -9``."""

    def __init__(
        self,
        config: Path,
        log: Path,
        env: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        command: str = "serve",
        cpus: set[int] | None = None,
    ) -> None:
        """``cpus``: the cores it may run on (``taskset``), by default this process's."""
        self.config = config
        self.cpus = cpus
        self.log = log
        self.command = command
        self.tls = tls
        """A client context trusting the bot's certificate, when it serves HTTPS."""
        self.port = free_port()
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "PYTHONPATH": str(ROOT),
            "LOG_FORMAT": "json",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_pipe: LogPipe | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 90, *, stallable: bool = False) -> None:
        """Start and wait for ``/healthz``; ``stallable`` logs through a ``LogPipe``.

        The wait is generous: a start takes under two CPU seconds, but on a shared
        machine running two test workers it has been seen to take twenty."""
        if stallable:
            self.log_pipe = LogPipe(self.log)
            self._spawn(self.log_pipe.write_fd)
        else:
            with self.log.open("ab") as out:
                self._spawn(out.fileno())
        assert self.process is not None
        from tests.conftest import REAL_POLL

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"bot exited: {self.log.read_text()[-2000:]}")
                if self.command == "work":
                    if "working" in self.logged_messages():
                        return
                    await asyncio.sleep(REAL_POLL)
                    continue
                try:
                    async with session.get(f"{self.url}/healthz", ssl=self.tls or True) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(REAL_POLL)
        raise TimeoutError(f"bot did not start: {self.log.read_text()[-2000:]}")

    def logged_messages(self) -> list[str]:
        """The ``message`` of each JSON log line so far."""
        lines = self.log.read_text().splitlines()
        return [json.loads(line)["message"] for line in lines if line.startswith("{")]

    def _spawn(self, output: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(self.config), self.command],
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=None if self.cpus is None else partial(os.sched_setaffinity, 0, self.cpus),
        )
        _SPAWNED.append(self.process)

    def kill(self) -> None:
        """SIGKILL to the bot and its planner process at once, as a container stop or
        the OOM killer of a service's control group delivers it."""
        assert self.process is not None
        planners = self.children()
        self.process.send_signal(signal.SIGKILL)
        for pid in planners:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        if self.log_pipe is not None:
            self.log_pipe.close()
            self.log_pipe = None

    def children(self) -> list[int]:
        """The processes the bot started (its planner), by pid."""
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM, as a platform sends on deploy; returns how long the exit took."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        if self.log_pipe is not None:
            self.log_pipe.close()
            self.log_pipe = None
        return time.monotonic() - started


ONE_CHANNEL = """
[targets.eng]
slack = "#eng"
[[routes]]
to = ["eng"]
"""


_SPAWNED: list[subprocess.Popen[bytes]] = []


def kill_leftovers() -> None:
    """Kill bot processes a failed test left running (they would hold ports and files)."""
    while _SPAWNED:
        process = _SPAWNED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)


def write_config(
    tmp_path: Path,
    slack_port: int,
    extra: str = "",
    routing: str = ONE_CHANNEL,
    store: str = "",
) -> Path:
    """A config file for a bot process: GitHub in, Slack out, fast retries, ``extra`` added.

    ``store`` is the store's URL (default: ``bot.db`` in ``tmp_path``).
    """
    from tests.conftest import GITHUB_SECRET, SLACK_TOKEN

    path = tmp_path / "bot.toml"
    path.write_text(f"""
[store]
url = "{store or f"sqlite:///{tmp_path / 'bot.db'}"}"
[delivery]
retry_base = "0.1s"
retry_cap = "0.5s"
[slack]
bot_token = "{SLACK_TOKEN}"
api_url = "http://127.0.0.1:{slack_port}/api/"
[sources.github]
provider = "github"
secret = "{GITHUB_SECRET}"
{routing}
{extra}
""")
    return path
