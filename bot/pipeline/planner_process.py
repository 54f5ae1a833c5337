"""``serve``'s side of the planner process (``planner_worker``): start it, tell it when
the inbox has work, hear its reports, and start it again if it dies.

Started in a session of its own, so a Ctrl-C in the terminal reaches ``serve`` alone,
which then stops the planner in order: it closes the planner's stdin, and the planner
finishes the batch at hand and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.clock import Clock
from bot.ops.metrics import Metrics
from bot.pipeline.planner_link import INBOX, count, learn_line, messages
from bot.pipeline.wakeup import POLL_SECONDS, RESTART_SECONDS, Wakeup
from bot.store import Store

log = logging.getLogger("bot.pipeline")

STOP_SECONDS = 5.0
"""How long the planner may take to finish its batch once told to stop."""


def planner_command(
    settings: Settings, config_file: str | None, cpus: float | None = None
) -> list[str] | None:
    """How ``serve`` starts its planner, or ``None`` to plan in its own process.
    ``cpus``: the cores ``auto`` counts (by default, ``usable_cpus()``)."""
    if chosen_planner(settings.server.planner, usable_cpus() if cpus is None else cpus) == "inline":
        return None
    config = ["--config", config_file] if config_file else []
    return [sys.executable, "-m", "bot", *config, "plan"]


def chosen_planner(setting: str, cpus: float) -> str:
    """``auto`` plans in a second process where a second core can run it. On one core the
    two processes would only take turns, and planning, no longer on the intake's loop,
    could not give way to acknowledgements."""
    if setting != "auto":
        return setting
    return "process" if cpus >= 2 else "inline"


CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
"""cgroup v2's CPU quota: ``max 100000`` (none), or ``100000 100000`` (one core's time)."""


def usable_cpus(cpu_max: Path = CPU_MAX) -> float:
    """The cores this process may use: its affinity (which a container's cpuset limits),
    or less under a CPU quota (``docker run --cpus=1``). ``os.cpu_count`` counts the
    host's, which is what a container sees there."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no affinity
        cores = float(os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            cores = min(cores, int(quota) / int(period))
    except (OSError, ValueError):  # no cgroup v2 here, or a file not as documented
        pass
    return cores


class PlannerProcess:
    """The planner child, kept running while ``serve`` runs."""

    def __init__(
        self,
        argv: Sequence[str],
        store: Store,
        inbox: Wakeup,
        outbox: Wakeup,
        metrics: Metrics,
        directory: ChannelDirectory | None,
        clock: Clock,
    ) -> None:
        self.argv = list(argv)
        self.store = store
        self.inbox = inbox
        self.outbox = outbox
        self.metrics = metrics
        self.directory = directory
        self.clock = clock
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self._spawn()
        self._tasks = [
            asyncio.create_task(self._keep_running()),
            asyncio.create_task(self._forward_nudges()),
        ]
        if self.directory is not None:
            self.directory.listeners.append(self._learned)

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Close the planner's stdin, and wait for it to finish its batch and exit."""
        self._stopping.set()
        self.inbox.nudge()
        process = self.process
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                log.warning("the planner did not stop in time; killed", extra={"pid": process.pid})
                process.kill()
                await process.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _spawn(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        log.info("planner started", extra={"pid": self.process.pid})
        for address, channel in (self.directory.known() if self.directory else {}).items():
            self._send(learn_line(address, channel))
        self._send(INBOX)  # work may have come while it was starting

    async def _keep_running(self) -> None:
        while True:
            process = self.process
            assert process is not None and process.stdout is not None
            async for message in messages(process.stdout):
                count(self.metrics, message.get("events"))
                if message.get("outbox"):
                    self.outbox.nudge()
            code = await process.wait()
            if self._stopping.is_set():
                return
            log.error(
                "the planner process stopped; starting it again (until then, webhooks are "
                "acknowledged and wait in the inbox)",
                extra={"pid": process.pid, "exit_code": code, "within_s": RESTART_SECONDS},
            )
            await self._free_claims()
            await self._respawn()

    async def _free_claims(self) -> None:
        """The requests the dead planner held go to the next one at once, not a lease on."""
        try:
            await self.store.recover_planner()
        except Exception:  # a store hiccup: its claims are free once their lease ends
            log.exception("could not free the dead planner's requests; they wait for the lease")

    async def _respawn(self) -> None:
        """Start the planner again, asking once a second until the system lets it start
        (processes or memory run out): until then nothing would plan, so it says so."""
        while True:
            await self.clock.sleep(RESTART_SECONDS)
            try:
                await self._spawn()
                return
            except OSError as exc:
                log.error(
                    "cannot start the planner process; trying again",
                    extra={"error": str(exc), "within_s": RESTART_SECONDS},
                )

    async def _forward_nudges(self) -> None:
        """One line per wakeup of the inbox, however many requests it stands for."""
        while not self._stopping.is_set():
            if await self.inbox.wait(POLL_SECONDS) and not self._stopping.is_set():
                self._send(INBOX, skippable=True)

    def _learned(self, address: str, channel: str) -> None:
        self._send(learn_line(address, channel))

    def _send(self, line: bytes, *, skippable: bool = False) -> None:
        """Write to the planner's stdin; a nudge is skipped while one still waits there."""
        process = self.process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        if skippable and process.stdin.transport.get_write_buffer_size():
            return
        process.stdin.write(line)
