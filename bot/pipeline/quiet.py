"""Quiet hours and scheduled digests of a route: which events wait, until when, and why.

A held delivery is an ordinary outbox row that is not due before its release time, in a
group of its own (``bot.pipeline.grouping``): when the first comes due, it takes the
others with it and they are posted as one digest. Nothing is dropped, a restart keeps
what is held, and ``why`` reads the reason stored with the event.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.settings import RouteConfig
from bot.core.events import severity_rank
from bot.core.schedule import Digest, QuietHours, local_time, zone

HELD_GROUP = ":held@"
"""In a held delivery's group key: its digest says it was held, not a burst."""
HELD_INTERVAL = 60.0
"""How often a held digest may be edited, should more of its events come due late."""


@dataclass(frozen=True)
class Hold:
    """Until when a delivery waits, and the sentence ``why`` shows."""

    until: float
    why: str

    def group_key(self, route: int, target: str) -> str:
        return f"route{route}:{target}{HELD_GROUP}{self.until:.0f}"


def hold_for(route: RouteConfig, severity: str, now: float) -> Hold | None:
    """Whether an event of ``severity`` arriving at ``now`` waits on this route."""
    tz = zone(route.timezone)
    local = local_time(now, tz)
    if route.digest is not None:
        schedule = Digest.parse(route.digest)
        at = schedule.next_after(local)
        return Hold(at.timestamp(), f"held for the {schedule} digest, posted at {at:%H:%M}")
    if route.quiet_hours is None:
        return None
    quiet = QuietHours.parse(route.quiet_hours)
    if not quiet.contains(local) or severity_rank(severity) >= severity_rank(route.quiet_below):
        return None
    end = quiet.ends_after(local)
    zone_name = "" if route.timezone == "UTC" else f" {route.timezone}"
    return Hold(
        end.timestamp(),
        f"held for quiet hours ({quiet}{zone_name}), posted in the {end:%H:%M} digest",
    )


def describe(route: RouteConfig) -> str:
    """What waits on ``route``, in plain words for ``check-config`` ("" when nothing)."""
    zone_name = "" if route.timezone == "UTC" else f" {route.timezone}"
    if route.digest is not None:
        return f"all held for the {Digest.parse(route.digest)}{zone_name} digest"
    if route.quiet_hours is None:
        return ""
    quiet = QuietHours.parse(route.quiet_hours)
    return (
        f"quiet {quiet}{zone_name}: below {route.quiet_below} held for one digest at "
        f"{quiet.end:%H:%M}"
    )
