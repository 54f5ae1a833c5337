"""The planner as a process of its own (``python -m bot plan``), started by ``serve``.

One event loop cannot both acknowledge a flood of webhooks and plan them (normalize,
route, render, into the outbox): at 2,000 requests a second each needs about a core. So
on two cores (``[server] planner``, ``auto`` or ``process``) ``serve`` runs the normalize
stage in this child, on the same SQLite file, and keeps the intake and chat delivery
itself. SQLite in WAL mode lets one process read while the other writes, but their
commits take turns on the file's write lock: an acknowledgement that finds the planner
committing waits (README, "What ``serve`` runs", has both measured).

The two talk over the child's stdin and stdout, one JSON object a line (``planner_link``):
the parent says when the inbox has new work and which channel a Discord webhook posts
into; the child says after each batch that the outbox has new work, and the events it
counted, so the parent's ``/metrics`` keeps counting them. When the parent goes away,
even by kill -9, the child's stdin ends and it stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from bot.chat import registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.clock import SystemClock
from bot.ops.metrics import Metrics
from bot.pipeline.heartbeats import Heartbeats
from bot.pipeline.intake_load import IntakeLoad
from bot.pipeline.normalize import NormalizeStage
from bot.pipeline.planner_link import EventCounts, messages, report, stdin_reader
from bot.pipeline.wakeup import POLL_SECONDS, Wakeup, supervise
from bot.render.renderer import Renderer

log = logging.getLogger("bot.pipeline")


async def run_planner(settings: Settings) -> None:
    """Plan until stdin ends (the parent stopped or died), then finish the batch at hand."""
    store = await settings.store.open()
    clock = SystemClock()
    inbox, outbox = Wakeup.new(clock), Wakeup.new(clock)
    directory = ChannelDirectory()
    metrics = Metrics()
    stage = NormalizeStage(
        settings,
        store,
        Renderer(settings.templates.dir, markups=registry.markups()),
        metrics,
        inbox,
        outbox,
        IntakeLoad(),  # nothing to give way to: the intake is the parent's
        directory,
        clock,
        Heartbeats(settings, store, outbox.nudge, clock),
        overlap_commits=True,  # this loop acknowledges nothing that could wait for them
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # a service manager stopping every process
        loop.add_signal_handler(signum, stopping.set)
    listening = asyncio.create_task(_listen(inbox, directory, stopping))
    reporting = asyncio.create_task(_report(outbox, EventCounts(metrics), stopping))
    log.info("planning", extra={"pid": os.getpid()})
    try:
        await supervise("normalize", stage.run, stopping, clock)
    finally:
        listening.cancel()
        outbox.nudge()  # the last batch's report goes out before the store closes
        await asyncio.gather(listening, reporting, return_exceptions=True)
        await store.close()  # else its threads keep the process from ever exiting


async def _listen(inbox: Wakeup, directory: ChannelDirectory, stopping: asyncio.Event) -> None:
    async for message in messages(await stdin_reader()):
        if "learn" in message:
            address, channel = message["learn"]
            directory.learn(address, channel)
        inbox.nudge()
    stopping.set()  # stdin ended: the parent is gone
    inbox.nudge()


async def _report(outbox: Wakeup, counts: EventCounts, stopping: asyncio.Event) -> None:
    """One line per wakeup of the outbox: a batch's worth of events, not one per event."""
    while True:
        nudged = await outbox.wait(POLL_SECONDS)
        counted = counts.since_last()
        try:
            if nudged or counted:
                report(sys.stdout.buffer, counted)
        except BrokenPipeError:  # the parent is gone; stdin's end stops the rest
            return
        if stopping.is_set():
            return
