"""The background pipeline, read top to bottom like the data flow:

    inbox -> normalize -> route -> render -> outbox -> deliver (paced, retried, dead-lettered)

Both stages read their work from the store, so a crash anywhere resumes from the store.
The intake wakes the normalizer and the normalizer wakes the deliverer, so nothing waits
for a poll in the common case; polling only catches leases that expired. The normalizer
may run in a process of its own (``planner_process``), woken the same way over a pipe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bot.chat import ChatAdapter, registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.ops.metrics import Metrics
from bot.pipeline.deliver import DeliveryStage
from bot.pipeline.heartbeats import Heartbeats
from bot.pipeline.intake_load import IntakeLoad
from bot.pipeline.mute_clock import MuteClock
from bot.pipeline.normalize import NormalizeStage
from bot.pipeline.planner_process import PlannerProcess
from bot.pipeline.retention import Retention
from bot.pipeline.wakeup import StageRun, Wakeup, supervise
from bot.render.renderer import Renderer
from bot.store import Store


class Pipeline:
    """Both stages, started and stopped together with the app."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        metrics: Metrics,
        directory: ChannelDirectory | None = None,
        clock: Clock | None = None,
        planner: Sequence[str] | None = None,
    ) -> None:
        """``planner``: the command that starts the normalizer's process (``None``: it runs
        here, on this event loop)."""
        self.store = store
        self.clock = clock or SystemClock()
        self.inbox_wake = Wakeup.new(self.clock)
        self.outbox_wake = Wakeup.new(self.clock)
        self.intake = IntakeLoad()
        renderer = Renderer(settings.templates.dir, markups=registry.markups())
        self.heartbeats = Heartbeats(settings, store, self.outbox_wake.nudge, self.clock)
        self.normalizer = NormalizeStage(
            settings,
            store,
            renderer,
            metrics,
            self.inbox_wake,
            self.outbox_wake,
            self.intake,
            directory,
            self.clock,
            self.heartbeats,
        )
        self.deliverer = DeliveryStage(
            settings, store, adapters, metrics, self.outbox_wake, self.intake, self.clock
        )
        self.planner = (
            PlannerProcess(
                planner, store, self.inbox_wake, self.outbox_wake, metrics, directory, self.clock
            )
            if planner
            else None
        )
        self.mute_clock = MuteClock(settings, store, self.outbox_wake.nudge, directory, self.clock)
        self.retention = Retention(settings, store, self.clock)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._renewing: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """Look for work now: a command changed the store (replay, an announcement)."""
        self.inbox_wake.nudge()
        self.outbox_wake.nudge()

    async def start(self) -> None:
        await self.store.watch(self.inbox_wake.nudge, self.outbox_wake.nudge)
        if self.planner is not None:
            await self.planner.start()
        else:
            self._tasks.append(
                asyncio.create_task(self._supervise("normalize", self.normalizer.run))
            )
        self._tasks += [
            asyncio.create_task(self._supervise("deliver", self.deliverer.run)),
            asyncio.create_task(self._supervise("mutes", self.mute_clock.run)),
            asyncio.create_task(self._supervise("retention", self.retention.run)),
            asyncio.create_task(self._supervise("heartbeats", self.heartbeats.run)),
        ]
        self._renewing = asyncio.create_task(self.deliverer.keep_leases())

    async def _supervise(self, name: str, run: StageRun) -> None:
        await supervise(name, run, self._stopping, self.clock)

    async def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        self.inbox_wake.nudge()
        self.outbox_wake.nudge()
        _, pending = await asyncio.wait(self._tasks, timeout=2)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.planner is not None:
            await self.planner.stop()
        await self.deliverer.drain(max(0.0, timeout - 2))
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
