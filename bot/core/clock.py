"""The clock every timer of the bot reads: wall time, monotonic time, and waiting.

Backoff, Retry-After holds, pacing, ``group_wait`` and the mute clock all wait on one
``Clock`` instead of calling ``time`` and ``asyncio.sleep`` themselves, so a test can pass
a clock it moves by hand and check a one-second Retry-After without waiting a second.
Production uses ``SystemClock``: the same calls, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    """Where the pipeline's time comes from."""

    def now(self) -> float:
        """Wall-clock time, in seconds since the epoch (what the store records)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back (for intervals and pacing)."""

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` (at once for zero or less, after yielding once)."""

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait until ``event`` is set or ``timeout`` passed; True when it was set."""


class SystemClock:
    """The real time of the machine."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()
