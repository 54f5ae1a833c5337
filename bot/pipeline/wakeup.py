"""How the stages hand work on: a nudge when there is some, a poll to catch the rest.

The intake wakes the normalizer and the normalizer wakes the deliverer, so nothing waits
for a poll in the common case; polling only catches leases that expired and retries
coming due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.clock import Clock

POLL_SECONDS = 1.0
# Claimed rows become records on the event loop; 512 at once held it for ~6 ms, long
# enough to show in the acknowledgements' p99. Smaller claims, taken back to back, don't.
CLAIM_BATCH = 64

StageRun = Callable[[asyncio.Event], Awaitable[None]]

RESTART_SECONDS = 1.0

log = logging.getLogger("bot.pipeline")


async def supervise(name: str, run: StageRun, stopping: asyncio.Event, clock: Clock) -> None:
    """Run a stage until ``stopping``; one that crashed (a store hiccup) starts again after
    a short pause, in ``serve`` and in the planner process alike."""
    while not stopping.is_set():
        try:
            await run(stopping)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stage crashed; restarting", extra={"stage": name})
            await clock.sleep(RESTART_SECONDS)


@dataclass
class Wakeup:
    """A nudge between stages; a missed nudge only costs one poll interval."""

    event: asyncio.Event
    clock: Clock

    @classmethod
    def new(cls, clock: Clock) -> Wakeup:
        return cls(asyncio.Event(), clock)

    def nudge(self) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> bool:
        """True when it was nudged, False when ``timeout`` passed first."""
        nudged = await self.clock.wait(self.event, timeout)
        self.event.clear()
        return nudged
