"""Acknowledgements first: background work gives way while the intake is busy.

One event loop serves webhooks and runs the pipeline, and both need the same CPU. A
sender that waits too long gives up (GitHub after 10 s, and it never retries), so the
event is lost; a chat post that waits a few hundred milliseconds loses nothing. So while
many requests are being acknowledged at once, the normalizer and the chat lanes wait
before their next batch or post, and catch up as soon as the burst is over.

They wait ``max_defer`` seconds at most each time: a sustained flood slows chat down but
never stops it.
"""

from __future__ import annotations

import asyncio
import time

BUSY_AT = 16
"""Requests in flight at once that mean a burst. At 500 requests/s a request is in flight
for about a millisecond, so steady traffic leaves this near zero."""

MAX_DEFER = 0.25
CHECK_EVERY = 0.01


class IntakeLoad:
    """Counts the webhook requests being handled right now."""

    def __init__(self, busy_at: int = BUSY_AT, max_defer: float = MAX_DEFER) -> None:
        self.in_flight = 0
        self.busy_at = busy_at
        self.max_defer = max_defer
        self._calm: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None  # referenced, or it may be collected

    @property
    def busy(self) -> bool:
        return self.in_flight >= self.busy_at

    async def give_way(self) -> None:
        """Wait while the intake is busy, but no longer than ``max_defer``.

        Every waiter (the normalizer, each chat lane) shares one watcher, so a hundred
        lanes giving way cost one timer, not a hundred.
        """
        if not self.busy:
            return
        if self._calm is None or self._calm.done():
            self._calm = asyncio.get_running_loop().create_future()
            self._watcher = asyncio.get_running_loop().create_task(self._watch(self._calm))
        # Shielded: a waiter being cancelled (shutdown) must not release the others early.
        await asyncio.shield(self._calm)

    async def _watch(self, calm: asyncio.Future[None]) -> None:
        deadline = time.monotonic() + self.max_defer
        while self.busy and time.monotonic() < deadline:
            await asyncio.sleep(CHECK_EVERY)
        calm.set_result(None)
