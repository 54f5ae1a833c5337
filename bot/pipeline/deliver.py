"""The deliver stage: outbox -> chat, paced per channel lane, retried, dead-lettered.

Adapters only say whether a failure is worth retrying; this stage owns the retry:
backoff with full jitter, a 429's ``Retry-After`` holding the lane, and the dead letter
after the target's ``max_attempts`` or ``max_age``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Mapping

from bot.chat import ChatAdapter, registry
from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.core.errors import DeliveryError
from bot.core.pacing import LanePacer
from bot.ops.logs import milliseconds
from bot.ops.metrics import Metrics
from bot.pipeline.conversations import Conversations, Outcome
from bot.pipeline.deadletters import death_notice
from bot.pipeline.grouping import Grouper
from bot.pipeline.intake_load import IntakeLoad
from bot.pipeline.wakeup import CLAIM_BATCH, POLL_SECONDS, Wakeup
from bot.store import DeliveryRecord, DigestRecord, Store

log = logging.getLogger("bot.pipeline")

LANE_QUEUE_LIMIT = 20


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS's recommendation against retry storms)."""
    return random.uniform(0, min(cap, base * 2**attempt))


class DeliveryStage:
    """outbox -> chat, one lane per channel so a slow channel never blocks the others."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        metrics: Metrics,
        wake: Wakeup,
        intake: IntakeLoad,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.adapters = adapters
        self.metrics = metrics
        self.wake = wake
        self.intake = intake
        self.clock = clock or SystemClock()
        self.pacer: LanePacer = store.lane_pacer(self.clock)
        self.conversations = Conversations(store)
        self.grouper = Grouper(store, settings.store.lease, self.clock)
        self._lanes: dict[str, deque[DeliveryRecord]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(settings.delivery.concurrency)
        self._sending: set[str] = set()
        self._arriving: set[str] = set()
        """Claimed (leased by this worker) but not yet in a lane: a digest posted
        meanwhile takes them too, or they would wait for its next edit."""
        self._closing = False

    @property
    def in_flight(self) -> int:
        return sum(len(queue) for queue in self._lanes.values())

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.intake.give_way()
            room = max(0, min(CLAIM_BATCH, 512 - self.in_flight))
            claimed = await self.store.claim_deliveries(
                room, self.clock.now(), self.settings.store.lease
            )
            self._arriving = {delivery.id for delivery in claimed}
            for delivery in claimed:
                await self._dispatch(delivery)
                self._arriving.discard(delivery.id)
            if len(claimed) < max(room, 1):
                await self.wake.wait(POLL_SECONDS)

    async def keep_leases(self) -> None:
        """Renew the leases of deliveries waiting in lanes until cancelled.

        A paced or rate-limited lane can hold a claimed delivery longer than a lease; without
        renewal another instance (or this one's next claim) would take it and post it twice.
        A crashed instance stops renewing, so its work is free again one lease later.
        """
        lease = self.settings.store.lease
        while True:
            await self.clock.sleep(lease / 3)
            held = [delivery.id for queue in self._lanes.values() for delivery in queue]
            try:
                await self.store.renew_leases(held, self.clock.now() + lease)
            except Exception:  # a store hiccup: the next round tries again
                log.exception("renewing leases failed", extra={"deliveries": len(held)})

    async def drain(self, timeout: float) -> None:
        """Shutdown: finish the sends under way (up to ``timeout``), start no new one, and
        hand queued deliveries back to the store so any instance sends them next."""
        self._closing = True
        idle = [t for lane, t in self._lane_tasks.items() if lane not in self._sending]
        for task in idle:
            task.cancel()  # waiting for a turn or a slot: nothing was sent
        tasks = [t for t in self._lane_tasks.values() if not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        now = self.clock.now()
        for queue in self._lanes.values():
            for delivery in queue:
                await self.store.defer(delivery.id, now)
            queue.clear()

    def _lane_of(self, delivery: DeliveryRecord) -> str:
        adapter = self.adapters.get(delivery.platform)
        return adapter.lane(delivery.address) if adapter else f"{delivery.platform}:unconfigured"

    async def _dispatch(self, delivery: DeliveryRecord) -> None:
        if self.grouper.shown(delivery.id):
            return  # a digest took it while it was on its way here
        lane = self._lane_of(delivery)
        queue = self._lanes.setdefault(lane, deque())
        if len(queue) >= LANE_QUEUE_LIMIT:
            # The lane is busy for a while: hand the lease back instead of sitting on it.
            pace = registry.pace(delivery.platform, lane)
            wait = self.pacer.backlog_seconds(lane, len(queue), pace)
            if delivery.group_key is not None:
                # A storm's queue is mostly what one digest shows, not a post each: the
                # newcomer comes back for the digest's next edit, or the rest of the
                # storm would wait out twenty posts' worth of pace.
                wait = min(wait, delivery.group_interval)
            await self.store.defer(delivery.id, self.clock.now() + wait)
            return
        queue.append(delivery)
        task = self._lane_tasks.get(lane)
        if task is None or task.done():
            self._lane_tasks[lane] = asyncio.create_task(self._drain_lane(lane), name=lane)

    async def _drain_lane(self, lane: str) -> None:
        queue = self._lanes[lane]
        while queue and not self._closing:
            delivery = queue[0]
            if delivery.group_key is not None and not await self.grouper.ready(delivery):
                queue.popleft()  # shown in a digest already, or waiting for its next edit
                continue
            pace = registry.pace(delivery.platform, lane)
            await self.pacer.wait_turn(lane, pace)
            await self.intake.give_way()
            async with self._slots:
                self._sending.add(lane)
                try:
                    await self.deliver(delivery, lane)
                finally:
                    self._sending.discard(lane)
                    self.pacer.sent(lane)
            queue.popleft()

    async def deliver(
        self, delivery: DeliveryRecord, lane: str, held: list[str] | None = None
    ) -> None:
        """Send one delivery (a group's first: the group's digest). ``held``: the
        deliveries this worker holds leases on, which a digest may take with it; by
        default those waiting in its lanes, ``delivery`` among them."""
        if delivery.group_key is None:
            await self._deliver_one(delivery, lane)
            return
        if held is None:
            queued = [waiting.id for queue in self._lanes.values() for waiting in queue]
            held = [*queued, *self._arriving]
        members = await self.grouper.take(delivery, held)
        if not members:
            return  # a digest showed it meanwhile
        digest = await self.grouper.current(members)
        if digest is None and len(members) == 1:
            await self._deliver_one(members[0], lane)  # a lone event: its own message
            return
        await self._deliver_digest(members, digest, held, lane)

    async def _deliver_digest(
        self,
        members: list[DeliveryRecord],
        digest: DigestRecord | None,
        held: list[str],
        lane: str,
    ) -> None:
        """Post or edit a group's digest; a failure is every member's failed attempt."""
        started = self.clock.now()
        first = members[0]
        adapter = self.adapters.get(first.platform)
        try:
            if adapter is None:
                raise DeliveryError(f"{first.platform} not configured", retryable=False)
            saved = await self.grouper.show(adapter, members, digest, held, started)
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else None
            if error is None:
                log.exception("digest failed", extra={"delivery": first.id})
                error = DeliveryError(repr(exc), retryable=True)
            for member in members:
                await self._failed(member, lane, error, started)
            return
        now = self.clock.now()
        self.metrics.deliveries.labels(first.target, "grouped").inc(len(members))
        fields = _attempt_fields(first, "grouped", started, now)
        log.info(
            "grouped",
            extra={
                **fields,
                "digest": saved.id,
                "members": len(members),
                "shown": len(saved.entries),
                "action": "posted" if digest is None else "updated",
            },
        )

    async def _deliver_one(self, delivery: DeliveryRecord, lane: str) -> None:
        started = self.clock.now()
        try:
            outcome = await self.send(delivery)
        except DeliveryError as exc:
            await self._failed(delivery, lane, exc, started)
            return
        except Exception as exc:  # an adapter bug: retried like an outage, and logged loudly
            log.exception("adapter failed", extra={"delivery": delivery.id})
            await self._failed(delivery, lane, DeliveryError(repr(exc), retryable=True), started)
            return
        now = self.clock.now()
        await self.store.mark_sent(
            delivery.id, outcome.ref, now, started=started, conversation=outcome.conversation
        )
        action = outcome.ref.get("action")
        if action == "skipped":  # nothing posted: an older event arriving after a newer one
            self.metrics.deliveries.labels(delivery.target, "skipped").inc()
            fields = _attempt_fields(delivery, "skipped", started, now)
            log.info("skipped", extra={**fields, "reason": outcome.ref.get("why")})
            return
        self.metrics.deliveries.labels(delivery.target, "delivered").inc()
        self.metrics.end_to_end_seconds.observe(max(0.0, now - delivery.created_at))
        fields = _attempt_fields(delivery, "delivered", started, now)
        log.info("delivered", extra={**fields, "action": action})

    async def send(self, delivery: DeliveryRecord) -> Outcome:
        """Post, update or thread, as the delivery's conversation calls for."""
        adapter = self.adapters.get(delivery.platform)
        if adapter is None:
            raise DeliveryError(f"{delivery.platform} not configured", retryable=False)
        return await self.conversations.deliver(adapter, delivery)

    async def _failed(
        self, delivery: DeliveryRecord, lane: str, exc: DeliveryError, started: float
    ) -> None:
        now = self.clock.now()
        status = exc.http_status
        if exc.retry_after is not None:
            await self.pacer.hold(lane, exc.retry_after, registry.pace(delivery.platform, lane))
        attempts = delivery.attempts + 1
        max_attempts, max_age = self.settings.retry_limits(delivery.target)
        limit = "max_attempts" if attempts >= max_attempts else ""
        limit = limit or ("max_age" if now - delivery.created_at > max_age else "")
        if not exc.retryable or limit:
            reason = exc.reason
            if exc.retryable:
                reason = f"gave up after {attempts} attempts ({limit}): {exc.reason}"
            await self.store.mark_dead(
                delivery.id, reason, now, started=started, http_status=status
            )
            self.metrics.deliveries.labels(delivery.target, "dead").inc()
            fields = _attempt_fields(delivery, "dead", started, now)
            log.error("dead", extra={**fields, "error": reason, "http_status": status})
            if notice := death_notice(self.settings, delivery, reason, now):
                await self.store.enqueue([notice], now)
            return
        policy = self.settings.delivery
        delay = exc.retry_after
        if delay is None:
            delay = backoff(attempts, policy.retry_base, policy.retry_cap)
        await self.store.mark_retry(
            delivery.id, exc.reason, now + delay, now, started=started, http_status=status
        )
        self.metrics.deliveries.labels(delivery.target, "retried").inc()
        log.warning(
            "retried",
            extra={
                **_attempt_fields(delivery, "retried", started, now),
                "error": exc.reason,
                "http_status": status,
                "attempt": attempts,
                "retry_in_s": round(delay, 2),
            },
        )


def _attempt_fields(
    delivery: DeliveryRecord, outcome: str, started: float, now: float
) -> dict[str, object]:
    """The log fields of a delivery's state change; latency counts from the webhook's arrival."""
    return {
        "event_id": delivery.event_id,
        "delivery": delivery.id,
        "source": delivery.source,
        "type": delivery.event_type,
        "target": delivery.target,
        "outcome": outcome,
        "latency_ms": milliseconds(now - delivery.created_at),
        "attempt_ms": milliseconds(now - started),
    }
