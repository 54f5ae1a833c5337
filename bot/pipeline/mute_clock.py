"""The mute clock: a background stage that ends mutes and reroutes when they are due.

A mute ends when it expires or when every conversation it was bound to (``until
resolved``) has resolved; the end is announced once, with its digest (``notices``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.clock import Clock, SystemClock
from bot.pipeline.notices import end_mute
from bot.pipeline.overrides import in_force
from bot.store import MuteRecord, Store

log = logging.getLogger("bot.mutes")

CLOCK_SECONDS = 1.0


class MuteClock:
    """Ends mutes that expired or whose conversations resolved, and reroutes that expired.

    Routing already ignores an expired mute (it compares with its own clock); this task
    makes the end visible: the announcement and the digest, once, from one instance.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        nudge: Callable[[], None],
        directory: ChannelDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.nudge = nudge
        self.directory = directory
        self.clock = clock or SystemClock()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if await self.tick(self.clock.now()):
                self.nudge()
            await self.clock.wait(stopping, CLOCK_SECONDS)

    async def tick(self, now: float) -> int:
        """End what is due at ``now``; return how many mutes ended."""
        ended = 0
        live = await self.store.live_mutes()
        current = in_force(live, now)
        for mute in live:
            if mute not in current:
                ended += await self._end(mute, now, "expired")
        bound = [mute for mute in current if mute.threads]
        states = await self.store.thread_states(sorted({k for m in bound for k in m.threads}))
        for mute in bound:
            if all(states.get(key) == "resolved" for key in mute.threads):
                ended += await self._end(mute, now, "resolved")
        reroutes = await self.store.live_reroutes()
        for reroute in reroutes:
            if reroute not in in_force(reroutes, now):
                await self.store.end_reroute(reroute.id, now, "")
                log.info("reroute expired", extra={"reroute": f"r{reroute.id}"})
        return ended

    async def _end(self, mute: MuteRecord, now: float, reason: str) -> int:
        ended = await end_mute(self.store, self.settings, mute.id, now, "", reason, self.directory)
        return int(ended is not None)
