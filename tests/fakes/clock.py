"""A clock that only moves when a test moves it, so timers cost no real time.

Pass it to ``build_app(settings, clock)``: backoff, Retry-After holds, pacing,
``group_wait`` and the pipeline's polls then wait on it. ``advance`` wakes every sleeper
due within the step in deadline order, letting each run before the next wakes, so
work paced at one a second still goes out one fake second apart. Network and store
calls stay real: tests still wait for their results with ``eventually``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

SETTLE_ROUNDS = 5
"""Event-loop turns given to woken sleepers before the clock moves on."""


class FakeClock:
    """``bot.core.clock.Clock`` on a time of the test's choosing (starts at the real now)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._start = self._now
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), woken))
        await woken  # a cancelled sleeper's future is skipped when its time comes

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.sleep(timeout))]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return event.is_set()

    async def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward, waking sleepers in order at their own deadlines."""
        until = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= until:
            deadline, _, woken = heapq.heappop(self._sleepers)
            if woken.done():
                continue
            self._now = max(self._now, deadline)
            woken.set_result(None)
            await _settle()
        self._now = until
        await _settle()


async def _settle() -> None:
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)
