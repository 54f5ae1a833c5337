"""Dead letters: telling the operators, and choosing which to list or replay.

A delivery that dies is announced to ``[delivery] notify`` through the outbox, grouped
like a storm so an outage is one message, never one per failure; a notice that dies
itself is never announced (that way lies a loop).

After an outage or a config mistake the dead-letter list holds many entries with one
cause; an operator fixes the cause and replays exactly those (``replay --all --target
eng --error channel_not_found``), not one id at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from bot.chat import registry
from bot.config.settings import Settings
from bot.core.durations import parse_duration
from bot.core.times import parse_time
from bot.render.renderer import SEVERITY_COLORS, Message
from bot.store import DeliveryRecord, Store

SCAN_LIMIT = 1_000_000
"""Dead letters read to apply a filter: all of them, in practice."""
NOTICE_TYPE = "delivery.dead"
NOTICE_WAIT = 2.0
"""Deaths this close together are one notice (an outage kills many deliveries at once)."""
NOTICE_INTERVAL = 60.0


def death_notice(
    settings: Settings, dead: DeliveryRecord, reason: str, now: float
) -> DeliveryRecord | None:
    """The notice to ``[delivery] notify`` that ``dead`` died, or None when there is none
    to send: no notify target, or ``dead`` was headed there (or was a notice) itself."""
    name = settings.delivery.notify
    target = settings.targets.get(name)
    if target is None or dead.event_type == NOTICE_TYPE:
        return None
    if dead.target == name or (dead.platform, dead.address) == (target.platform, target.address):
        return None
    escape = registry.formatter(target.platform).escape
    message = Message(
        title=escape(
            f"Not delivered to {dead.target}: {dead.event_type or 'event'} {dead.event_id}"
        ),
        text=escape(f"{reason}\nFix the cause, then: python -m bot replay {dead.id}"),
        color=SEVERITY_COLORS["error"],
        footer=escape(f"{dead.source} · dead letter {dead.id}"),
        timestamp=now,
    )
    return DeliveryRecord(
        id=f"{dead.id}!dead@{now:.3f}",
        event_id=dead.event_id,
        target=name,
        platform=target.platform,
        address=target.address,
        message=message.model_dump(),
        lifecycle="new",
        occurred_at=now,
        created_at=now,
        source=dead.source,
        event_type=NOTICE_TYPE,
        group_key=f"notify:{name}",
        group_interval=NOTICE_INTERVAL,
        not_before=now + NOTICE_WAIT,
    )


def parse_since(text: str, now: float) -> float:
    """``2h`` (that long ago) or an ISO date/time (UTC unless it says otherwise)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    moment = parse_time(text, unix=False)  # digits are a duration, read above
    if moment is None:
        raise ValueError(
            f"--since {text!r}: give a duration (30m, 2h, 1d) or a date (2024-05-01T12:00)"
        )
    return moment.timestamp()


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters an operator means; every given part must match."""

    target: str | None = None
    """A glob over the target name; requests that died before routing have none."""
    source: str | None = None
    error: str | None = None
    """Text the error contains, case-insensitive."""
    since: float | None = None

    def admits(self, row: Mapping[str, Any]) -> bool:
        if self.target is not None and (
            row["kind"] != "delivery" or not fnmatchcase(row["target"], self.target)
        ):
            return False
        if self.source is not None and not fnmatchcase(row["source"] or "", self.source):
            return False
        if self.error is not None and self.error.lower() not in (row["error"] or "").lower():
            return False
        return self.since is None or row["at"] >= self.since

    def describe(self) -> str:
        parts = [
            f"target={self.target}" if self.target is not None else "",
            f"source={self.source}" if self.source is not None else "",
            f"error contains {self.error!r}" if self.error is not None else "",
            "since " + datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
            if self.since is not None
            else "",
        ]
        return ", ".join(p for p in parts if p) or "all"


async def matching(
    store: Store, chosen: DeadLetterFilter, limit: int | None
) -> list[dict[str, Any]]:
    """Dead letters admitted by ``chosen``, newest first, at most ``limit`` (None: all)."""
    rows = await store.dead_letters(SCAN_LIMIT)
    return [row for row in rows if chosen.admits(row)][:limit]
