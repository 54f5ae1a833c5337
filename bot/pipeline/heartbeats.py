"""Dead man's switches: a source silent for its ``heartbeat`` is reported to its
``heartbeat_to`` target, and the report turns to recovered when the source speaks again.

The switch lives in the store (``heartbeats``), so a restart or another instance carries
on the watch, and each change is one conditional write, so of several instances exactly
one posts the alarm and one its recovery. Alarm and recovery are one conversation
(``thread_key = heartbeat:<source>``): the recovery edits the alarm and replies under it,
never a post of its own. What counts as a sign of life is every request of the source,
or, with ``heartbeat_event``, only events of that type (and ``heartbeat_labels``), which
are then not posted: Alertmanager's always-firing ``Watchdog`` alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from functools import partial

from bot.chat import registry
from bot.config.settings import Settings, SourceConfig
from bot.core.clock import Clock, SystemClock
from bot.core.durations import format_duration
from bot.core.events import Event
from bot.render.outcomes import look
from bot.render.renderer import Message
from bot.store import DeliveryRecord, HeartbeatRecord, Store

log = logging.getLogger("bot.heartbeats")

CLOCK_SECONDS = 1.0


def is_heartbeat(source: SourceConfig, event: Event) -> bool:
    """Whether ``event`` is only a sign of life, not worth a message of its own."""
    if source.heartbeat is None:
        return False
    if source.provider == "heartbeat":
        return True
    if source.heartbeat_event is None or not fnmatchcase(event.event, source.heartbeat_event):
        return False
    return all(event.labels.get(k) == v for k, v in source.heartbeat_labels.items())


def signs_of_life(source: SourceConfig, events: Iterable[Event]) -> bool:
    """Whether a request of ``source`` that became ``events`` resets its switch."""
    if source.heartbeat is None:
        return False
    if source.heartbeat_event is None:
        return True  # any request at all: the sender is alive
    return any(is_heartbeat(source, event) for event in events)


def spoken(seconds: float) -> str:
    """``10 min``, ``30 s``, ``2h``: a silence's length as a message says it."""
    if seconds < 60:
        return f"{round(seconds)} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return format_duration(seconds)


def clock_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M UTC")


def alarm_message(
    name: str, source: SourceConfig, switch: HeartbeatRecord, platform: str
) -> Message:
    """The alarm: the headline says the silence, the card is the silent source."""
    text = registry.formatter(platform)
    silence = spoken(source.heartbeat or 0)
    if switch.last_at is None:
        last = f"nothing since watching began at {clock_time(switch.watched_since)}"
    else:
        last = f"last at {clock_time(switch.last_at)}"
    seen = look("error", "open", "problem")
    return Message(
        headline=f"{seen.emoji} No events from {text.escape(name)} for {silence} ({last})",
        title=text.escape(name),
        text=f"It should be heard from at least every {silence}. This message turns to "
        "recovered when it is.",
        color=seen.color,
        footer="heartbeat",
        elapsed="{elapsed} after the alarm",
        # When the silence began to count as one: the last event plus the allowed gap.
        timestamp=(switch.last_at or switch.watched_since) + (source.heartbeat or 0),
    )


def recovered_message(name: str, alarm_at: float, at: float, platform: str) -> Message:
    """The alarm turned to recovered (an edit), and the one line replied under it."""
    text = registry.formatter(platform)
    seen = look("info", "resolved", "resolved")
    return Message(
        headline=f"{seen.emoji} Recovered: {text.escape(name)} is heard from again "
        f"({clock_time(at)})",
        title=text.escape(name),
        text=f"Its silence alarm was raised at {clock_time(alarm_at)}.",
        color=seen.color,
        footer="heartbeat",
        reply=f"{seen.emoji} {text.escape(name)} is heard from again",
        elapsed="{elapsed} after the alarm",
        timestamp=at,
    )


class Heartbeats:
    """Raises the alarms of silent sources (``run``, a background stage) and ends them
    when a source is heard from (``heard``, called by the normalize stage)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        nudge: Callable[[], None],
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.nudge = nudge
        self.clock = clock or SystemClock()
        self.watched = {n: s for n, s in settings.sources.items() if s.heartbeat is not None}

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if self.watched and await self.tick(self.clock.now()):
                self.nudge()
            await self.clock.wait(stopping, CLOCK_SECONDS)

    async def tick(self, now: float) -> int:
        """Start watching new sources and raise the alarms due at ``now``; how many."""
        switches = {s.source: s for s in await self.store.heartbeats()}
        raised = 0
        for name, source in self.watched.items():
            switch = switches.get(name)
            if switch is None:
                await self.store.watch_source(name, now)
                continue
            if switch.alarm_at is not None or now - switch.silent_since < (source.heartbeat or 0):
                continue
            alarm = self._delivery(
                name, partial(alarm_message, name, source, switch), "open", now, now
            )
            if await self.store.raise_alarm(name, switch.silent_since, now, alarm):
                log.warning("source silent", extra={"source": name, "since": switch.silent_since})
                raised += 1
        return raised

    async def heard(self, name: str, at: float) -> None:
        """``name`` showed a sign of life at ``at``: reset its switch, end its alarm."""
        await self.store.beat(name, at)
        switch = next((s for s in await self.store.heartbeats() if s.source == name), None)
        if switch is None or switch.alarm_at is None:
            return
        render = partial(recovered_message, name, switch.alarm_at, at)
        recovery = self._delivery(name, render, "resolved", switch.alarm_at, at)
        if await self.store.clear_alarm(name, switch.alarm_at, recovery, at):
            log.info("source heard from again", extra={"source": name})
            self.nudge()

    def _delivery(
        self,
        name: str,
        render: Callable[[str], Message],
        status: str,
        alarm_at: float,
        at: float,
    ) -> DeliveryRecord:
        """The alarm (``status = open``) or its recovery for ``heartbeat_to``, rendered
        for its platform, for the store to queue with the switch's change; ids made of the
        alarm's time, so a second instance's copy would be the same row."""
        target_name = self.watched[name].heartbeat_to or ""
        target = self.settings.targets[target_name]
        kind = "silent" if status == "open" else "recovered"
        event_id = f"heartbeat:{name}:{round(alarm_at * 1000)}.{kind}"
        return DeliveryRecord(
            id=f"{event_id}/{target_name}",
            event_id=event_id,
            target=target_name,
            platform=target.platform,
            address=target.address,
            message=render(target.platform).model_dump(),
            lifecycle="update+thread",
            thread_key=f"heartbeat:{name}",
            status=status,
            occurred_at=at,
            created_at=at,
            source=name,
            event_type=f"heartbeat.{kind}",
        )
