"""Times of day in a route's time zone: quiet hours (``"22:00-08:00"``, which may wrap
past midnight) and digest schedules (``"daily 09:00"``, ``"hourly"``).

Pure functions of an epoch time, so a route's decision is the same in ``explain``, in the
pipeline and in a test on a fake clock. Local times are wall-clock times: a quiet night
still ends at 08:00 on the day the clocks change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str) -> time:
    """``"08:00"`` as a time of day; ValueError names the form."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"bad time of day {text!r} (use HH:MM, e.g. 08:00)")
    return time(int(match.group(1)), int(match.group(2)))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError says what to give instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {name!r} is not a known zone (use an IANA name such as "
            "Europe/Berlin or America/New_York, or UTC)"
        ) from None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        start, dash, end = text.partition("-")
        if not dash:
            raise ValueError(f"bad quiet_hours {text!r} (use HH:MM-HH:MM, e.g. 22:00-08:00)")
        hours = cls(parse_clock(start), parse_clock(end))
        if hours.start == hours.end:
            raise ValueError(f"quiet_hours {text!r} starts and ends at the same time")
        return hours

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: datetime) -> bool:
        now = local.time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # wraps past midnight

    def ends_after(self, local: datetime) -> datetime:
        """The end of the quiet hours ``local`` is in (or the next end)."""
        return next_clock(local, self.end)


@dataclass(frozen=True)
class Digest:
    """``daily HH:MM`` (``at`` set) or ``hourly`` (``at`` None)."""

    at: time | None

    @classmethod
    def parse(cls, text: str) -> Digest:
        words = text.split()
        if words == ["hourly"]:
            return cls(None)
        if len(words) == 2 and words[0] == "daily":
            return cls(parse_clock(words[1]))
        raise ValueError(f'bad digest {text!r} (use "daily 09:00" or "hourly")')

    def __str__(self) -> str:
        return "hourly" if self.at is None else f"daily {self.at:%H:%M}"

    def next_after(self, local: datetime) -> datetime:
        if self.at is None:
            return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return next_clock(local, self.at)


def next_clock(local: datetime, at: time) -> datetime:
    """The first moment after ``local`` whose wall-clock time is ``at``."""
    candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > local else candidate + timedelta(days=1)


def local_time(epoch: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch, tz)
