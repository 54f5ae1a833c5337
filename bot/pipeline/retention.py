"""Retention: raw requests and delivery records are kept ``[store] retention_days``, then
purged in the background, so the store does not grow without bound.

Only finished work goes (see ``Store.purge``): a request still to normalize or a message
still to send is never purged, however old; a dead letter stays ``retention_days`` after
it died, long enough to be seen in ``status`` and replayed. Purging runs in small
batches, so the store's writer never stalls the intake for long.
"""

from __future__ import annotations

import asyncio
import logging

from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.store import Store

log = logging.getLogger("bot.retention")

BATCH = 500
DAY = 86400.0


class Retention:
    """The background task that purges what is older than ``retention_days``."""

    def __init__(self, settings: Settings, store: Store, clock: Clock | None = None) -> None:
        self.keep = settings.store.retention_days * DAY
        self.store = store
        self.clock = clock or SystemClock()

    @property
    def interval(self) -> float:
        """A few rounds per retention period, at most hourly."""
        return min(3600.0, max(self.keep / 4, 1.0))

    async def run(self, stopping: asyncio.Event) -> None:
        if self.keep <= 0:  # retention_days = 0: keep everything
            await stopping.wait()
            return
        while not stopping.is_set():
            await self.purge(self.clock.now())
            await self.clock.wait(stopping, self.interval)

    async def purge(self, now: float) -> int:
        """Purge everything due at ``now``, a batch at a time; returns how much went."""
        total = 0
        while purged := await self.store.purge(now - self.keep, BATCH):
            total += purged
            await asyncio.sleep(0)  # let requests in between batches
        if total:
            days = self.keep / DAY
            log.info("purged", extra={"purged": total, "older_than_days": round(days, 3)})
        return total
