"""The normalize stage: inbox -> normalize -> route -> render -> outbox.

One raw request at a time, read from the store, so a crash resumes from the store: what
this stage decides (``plan``) is written in one step with the request marked done.
"""

from __future__ import annotations

import asyncio
import logging

from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.core.events import Event
from bot.ops.logs import milliseconds
from bot.ops.metrics import Metrics
from bot.pipeline.heartbeats import Heartbeats, signs_of_life
from bot.pipeline.intake_load import IntakeLoad
from bot.pipeline.overrides import Overrides, load_overrides
from bot.pipeline.plan import Planner
from bot.pipeline.wakeup import POLL_SECONDS, Wakeup
from bot.render.renderer import Renderer
from bot.store import DeliveryRecord, EventRecord, InboxItem, Store

log = logging.getLogger("bot.pipeline")

MAX_NORMALIZE_ATTEMPTS = 5


class NormalizeStage:
    """inbox -> normalize -> route -> render -> outbox, one raw request at a time."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        renderer: Renderer,
        metrics: Metrics,
        wake: Wakeup,
        next_stage: Wakeup,
        intake: IntakeLoad,
        directory: ChannelDirectory | None = None,
        clock: Clock | None = None,
        heartbeats: Heartbeats | None = None,
        overlap_commits: bool = False,
    ) -> None:
        """``overlap_commits``: always plan the next request while the last one's commit
        is under way, so a batch's commits share the writer's turns (the planner's own
        process). On the web process's loop that would hold up acknowledgements, so
        there the stage overlaps only while the intake is quiet."""
        self.settings = settings
        self.store = store
        self.directory = directory
        self.clock = clock or SystemClock()
        self.planner = Planner(settings, renderer)
        self.metrics = metrics
        self.wake = wake
        self.next_stage = next_stage
        self.intake = intake
        self.heartbeats = heartbeats or Heartbeats(settings, store, next_stage.nudge, self.clock)
        self.overlap_commits = overlap_commits

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.intake.give_way()
            items = await self.store.claim_inbox(64, self.clock.now(), self.settings.store.lease)
            # Mutes and reroutes are read once per batch, not once per request: a command
            # applies from the next batch (milliseconds later), and a backlog of requests
            # costs no store reads per item.
            overrides = (
                await load_overrides(self.store, self.clock.now(), self.directory)
                if items
                else Overrides()
            )
            committing: list[asyncio.Task[None]] = []
            for item in items:
                await self.intake.give_way()  # an item of ten alerts takes milliseconds
                if self.overlap_commits:
                    await self.process(item, overrides, committing)
                elif self.intake.quiet:
                    # What waits now is a backlog: sharing commits plans it nearly twice
                    # as fast (BENCHMARKS.md, drain), and no acknowledgement waits for
                    # them. Each request is its own commit again once webhooks come.
                    await self.process(item, overrides, committing)
                    await asyncio.sleep(0)  # its write joins the queue; a webhook may come in
                else:
                    await self.process(item, overrides)
            await _all_committed(committing)
            if items:
                self.next_stage.nudge()
            if len(items) < 64:
                await self.wake.wait(POLL_SECONDS)

    async def process(
        self,
        item: InboxItem,
        overrides: Overrides,
        committing: list[asyncio.Task[None]] | None = None,
    ) -> None:
        """Plan ``item`` and record the outcome; with ``committing``, the recording goes on
        as a task added there, and the caller awaits it."""
        now = self.clock.now()
        try:
            events = self.planner.normalize(item)
        except Exception as exc:  # a poison request must not stop the stage
            await self._fail(item, f"normalize failed: {type(exc).__name__}: {exc}", now)
            return
        if item.attempts > MAX_NORMALIZE_ATTEMPTS:
            await self._fail(item, "normalize was interrupted too many times", now)
            return
        records: list[EventRecord] = []
        deliveries: list[DeliveryRecord] = []
        for event in events:
            if event.thread_via is not None:  # a fork's CI result finds its pull request
                await _all_committed(committing or [])  # its alias may be in one of them
                event.thread_key = await self.store.thread_of_alias(event.thread_via) or (
                    event.thread_key
                )
            record, outbox = self.planner.plan(item, event, overrides)
            records.append(record)
            deliveries.extend(outbox)
        recording = self._record(item, events, records, deliveries, now)
        if committing is None:
            await recording
        else:
            committing.append(asyncio.create_task(recording))

    async def _record(
        self,
        item: InboxItem,
        events: list[Event],
        records: list[EventRecord],
        deliveries: list[DeliveryRecord],
        now: float,
    ) -> None:
        """Write what was planned with the request marked done; then say so."""
        await self.store.record_outcome(item.id, records, deliveries, now)
        source = self.settings.sources.get(item.source)
        if source is not None and signs_of_life(source, events):
            await self.heartbeats.heard(item.source, item.received_at)
        if not events:
            self.metrics.events.labels(item.source, "ignored").inc()
            log.info(
                "ignored",
                extra={
                    "inbox": item.id,
                    "source": item.source,
                    "outcome": "ignored",
                    "reason": "no handler for this event type",
                    "latency_ms": milliseconds(now - item.received_at),
                },
            )
        for record in records:
            self.metrics.events.labels(item.source, record.outcome).inc()
            log.info(
                record.outcome,
                extra={
                    "event_id": record.id,
                    "source": record.source,
                    "type": record.type,
                    "outcome": record.outcome,
                    "targets": record.detail.get("targets", []),
                    "latency_ms": milliseconds(now - item.received_at),
                },
            )

    async def _fail(self, item: InboxItem, error: str, now: float) -> None:
        await self.store.fail_inbox(item.id, error, now)
        self.metrics.events.labels(item.source, "dead").inc()
        log.error(
            "dead",
            extra={"inbox": item.id, "source": item.source, "outcome": "dead", "error": error},
        )


async def _all_committed(committing: list[asyncio.Task[None]]) -> None:
    """Wait for every recording under way; the first failure is raised once all ended."""
    outcomes = await asyncio.gather(*committing, return_exceptions=True)
    committing.clear()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
