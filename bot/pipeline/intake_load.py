"""Acknowledgements first: background work gives way while the intake is busy.

One event loop serves webhooks and runs the pipeline, and both need the same CPU. A
sender that waits too long gives up (GitHub after 10 s, and it never retries), so the
event is lost; a chat post that waits a few hundred milliseconds loses nothing. So while
many requests are being acknowledged at once, the normalizer and the chat lanes wait
before their next batch or post, and catch up as soon as the burst is over.

They wait ``max_defer`` seconds at most each time: a sustained flood slows chat down but
never stops it. The intake counts as calm again once it has stayed below ``busy_at`` for
``CALM_CHECKS`` checks in a row, not at its first dip.
"""

from __future__ import annotations

import asyncio
import time

BUSY_AT = 16
"""Requests in flight at once that mean a burst. At 500 requests/s a request is in flight
for about a millisecond, so steady traffic leaves this near zero."""

MAX_DEFER = 0.25
CHECK_EVERY = 0.01
CALM_CHECKS = 5
"""Checks in a row (50 ms) that must find the intake below ``busy_at``. Under a flood the
count dips for a moment every time a commit answers a batch of requests at once; one
calm check let the normalizer go on after such a dip, and measured over a flood it gave
way 0.7 s in 9.3 s instead of between every batch."""


TURN = 0.05
"""After each wait, background work runs this long before a busy intake holds it again:
its share of a flood that never ends. Background work gives way between requests (not
only between batches of 64), which keeps a short burst's acknowledgements quick, and
this turn keeps that from starving it."""


QUIET = 1.0
"""Seconds without a webhook after which the intake counts as quiet: what waits then is a
backlog (a flood that ended, a sender's replay), and background work may hold the store
longer for it (the normalizer shares one commit among many requests)."""


class IntakeLoad:
    """Counts the webhook requests being handled right now."""

    def __init__(
        self,
        busy_at: int = BUSY_AT,
        max_defer: float = MAX_DEFER,
        turn: float = TURN,
        quiet_after: float = QUIET,
    ) -> None:
        self.in_flight = 0
        self.busy_at = busy_at
        self.max_defer = max_defer
        self.turn = turn
        self.quiet_after = quiet_after
        self._last_answered = -quiet_after  # monotonic time in_flight last fell to 0
        self._resumed_at = -turn  # monotonic time the last wait ended
        self._calm: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None  # referenced, or it may be collected

    def arrived(self) -> None:
        self.in_flight += 1

    def answered(self) -> None:
        self.in_flight -= 1
        if not self.in_flight:
            self._last_answered = time.monotonic()

    @property
    def busy(self) -> bool:
        return self.in_flight >= self.busy_at

    @property
    def quiet(self) -> bool:
        """No webhook in flight, and none answered for ``quiet_after`` seconds."""
        return not self.in_flight and time.monotonic() - self._last_answered >= self.quiet_after

    async def give_way(self) -> None:
        """Wait while the intake is busy, but no longer than ``max_defer``, unless it is
        background work's ``turn``.

        Every waiter (the normalizer, each chat lane) shares one watcher, so a hundred
        lanes giving way cost one timer, not a hundred.
        """
        if not self.busy or time.monotonic() - self._resumed_at < self.turn:
            return
        if self._calm is None or self._calm.done():
            self._calm = asyncio.get_running_loop().create_future()
            self._watcher = asyncio.get_running_loop().create_task(self._watch(self._calm))
        # Shielded: a waiter being cancelled (shutdown) must not release the others early.
        await asyncio.shield(self._calm)

    async def _watch(self, calm: asyncio.Future[None]) -> None:
        deadline = time.monotonic() + self.max_defer
        calm_checks = 0
        while calm_checks < CALM_CHECKS and time.monotonic() < deadline:
            await asyncio.sleep(CHECK_EVERY)
            calm_checks = 0 if self.busy else calm_checks + 1
        self._resumed_at = time.monotonic()
        calm.set_result(None)
