"""The real pipeline, stepped by hand: requests go into a store of its own, the normalize
and delivery stages process them, and the adapters post to the recorder.

Time is a ``HandClock`` the gallery moves: a lifecycle's acknowledgement comes three
minutes after its trigger, a storm's digest after its ``group_wait``, a silent source's
alarm after its ``heartbeat``, a night's events in the morning's digest, all at once and
always the same. Nothing here decides how a message looks or when it is edited: the
stages and adapters the bot runs do.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from bot.chat import registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.ops.metrics import Metrics
from bot.pipeline.deliver import DeliveryStage
from bot.pipeline.heartbeats import Heartbeats
from bot.pipeline.intake_load import IntakeLoad
from bot.pipeline.normalize import NormalizeStage
from bot.pipeline.overrides import Overrides
from bot.pipeline.wakeup import Wakeup
from bot.render.renderer import Renderer
from bot.store import Store, open_store


class HandClock:
    """A clock that moves only when told (``advance``); waiting never blocks."""

    def __init__(self, start: float) -> None:
        self.at = start

    def now(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += max(seconds, 0.0)
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        await asyncio.sleep(0)
        return event.is_set()


class Run:
    """One store, one clock, the stages: send requests, let time pass, see what posts."""

    def __init__(self, settings: Settings, store: Store, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.store = store
        self.clock = HandClock(0.0)
        directory = ChannelDirectory()
        metrics = Metrics()
        inbox, outbox = Wakeup.new(self.clock), Wakeup.new(self.clock)
        self.adapters = registry.adapters(settings, session, directory)
        self.heartbeats = Heartbeats(settings, store, outbox.nudge, self.clock)
        renderer = Renderer(settings.templates.dir, markups=registry.markups())
        intake = IntakeLoad()
        self.normalizer = NormalizeStage(
            settings,
            store,
            renderer,
            metrics,
            inbox,
            outbox,
            intake,
            directory,
            self.clock,
            self.heartbeats,
        )
        self.deliverer = DeliveryStage(
            settings, store, self.adapters, metrics, outbox, intake, self.clock
        )
        self._serial = 0

    async def receive(self, source: str, headers: dict[str, str], body: bytes) -> None:
        """A request as the intake stores it (already verified), then everything it causes."""
        self._serial += 1
        lowered = {name.lower(): value for name, value in headers.items()}
        await self.store.accept(
            source, f"gallery-{self._serial}", lowered, body, self.clock.now(), by_body=False
        )
        await self.settle()

    async def advance(self, seconds: float, *, heartbeats: bool = True) -> None:
        """Let ``seconds`` pass: held and grouped deliveries go out, and (``heartbeats``)
        silent sources' alarms come due."""
        self.clock.at += seconds
        if heartbeats and self.heartbeats.watched:
            await self.heartbeats.tick(self.clock.now())
        await self.settle()

    async def settle(self) -> None:
        """Normalize and deliver whatever is due now, one delivery at a time (so a group's
        first takes the others with it, as a worker's lane does)."""
        lease = self.settings.store.lease
        while True:
            items = await self.store.claim_inbox(64, self.clock.now(), lease)
            for item in items:
                await self.normalizer.process(item, Overrides())
            claimed = await self.store.claim_deliveries(1, self.clock.now(), lease)
            for delivery in claimed:
                adapter = self.adapters.get(delivery.platform)
                lane = adapter.lane(delivery.address) if adapter else delivery.platform
                grouped = delivery.group_key is not None
                if not grouped or await self.deliverer.grouper.ready(delivery):
                    await self.deliverer.deliver(delivery, lane, [delivery.id])
            if not items and not claimed:
                return


@asynccontextmanager
async def pipeline(settings: Settings, start: float) -> AsyncIterator[Run]:
    """A ``Run`` on a store of its own (a temporary SQLite file), its clock at ``start``."""
    with tempfile.TemporaryDirectory(prefix="gallery-") as folder:
        store = await open_store(f"sqlite:///{Path(folder) / 'gallery.db'}", synchronous="off")
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                run = Run(settings, store, session)
                run.clock.at = start
                yield run
        finally:
            await store.close()
