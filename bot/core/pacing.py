"""Per-channel pacing: a token bucket per lane, slowed further by any Retry-After.

Each platform says what a lane of it tolerates (a ``Pace``: Slack allows about one
message per second per channel with short bursts); a lane that is waiting never holds
up another lane. One process paces in memory (``Pacer``);
instances sharing a store take turns through it (``SharedPacer``), so two instances
posting to one channel still stay within its budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.clock import Clock, SystemClock


@dataclass(frozen=True)
class Pace:
    """A lane's budget: ``burst`` sends at once, then ``rate`` per second."""

    rate: float = 1.0
    burst: float = 5.0


class LanePacer(Protocol):
    """What the delivery stage needs: a turn per send, and a hold after a 429.

    ``pace`` is the lane's platform's budget.
    """

    async def wait_turn(self, lane: str, pace: Pace) -> None: ...

    def sent(self, lane: str) -> None:
        """The platform answered a send on ``lane`` (whatever it said)."""

    async def hold(self, lane: str, seconds: float, pace: Pace) -> None:
        """Nothing goes out on ``lane`` for ``seconds`` (a Retry-After)."""

    def backlog_seconds(self, lane: str, queued: int, pace: Pace) -> float:
        """Rough wait for the ``queued``-th message in a lane, to defer work honestly."""


@dataclass
class TokenBucket:
    rate: float = 1.0
    burst: float = 5.0
    tokens: float = 5.0
    updated: float = 0.0
    """When ``tokens`` was last counted; a bucket starts full, so its start needs no time."""
    blocked_until: float = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send may go (0 when it may go now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        wait_for_token = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        return max(wait_for_token, self.blocked_until - now, 0.0)

    def take(self, now: float) -> None:
        self.delay(now)
        self.tokens -= 1

    def block(self, now: float, seconds: float) -> None:
        """A 429 said wait: nothing goes out on this lane before then."""
        self.blocked_until = max(self.blocked_until, now + seconds)
        self.tokens = 0


class Pacer:
    """Buckets by lane, created on first use at the lane's pace."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, lane: str, pace: Pace) -> TokenBucket:
        if lane not in self._buckets:
            self._buckets[lane] = TokenBucket(pace.rate, pace.burst, pace.burst)
        return self._buckets[lane]

    async def wait_turn(self, lane: str, pace: Pace) -> None:
        """Wait until the lane may send; call ``sent`` when the platform has answered."""
        bucket = self.bucket(lane, pace)
        while (delay := bucket.delay(self.clock.monotonic())) > 0:
            await self.clock.sleep(delay)

    def sent(self, lane: str) -> None:
        """Count a send when its answer arrives, not when it left.

        The platform counts a post when it arrives, which is later than we sent it by a
        varying delay (the first post of a lane also opens a connection). Counting at the
        answer, which comes after the platform counted, keeps our bucket never fuller
        than the platform's, so pacing at its rate never draws a 429.
        """
        self._buckets[lane].take(self.clock.monotonic())

    async def hold(self, lane: str, seconds: float, pace: Pace) -> None:
        self.bucket(lane, pace).block(self.clock.monotonic(), seconds)

    def backlog_seconds(self, lane: str, queued: int, pace: Pace) -> float:
        return queued / pace.rate


class LaneClock(Protocol):
    """Turns kept where every instance sees them (the PostgreSQL store)."""

    async def reserve_turn(self, lane: str, interval: float, burst: float) -> float:
        """Take the lane's next send slot; returns the seconds to wait for it."""

    async def hold_lane(self, lane: str, seconds: float, interval: float, burst: float) -> None:
        """No slot on ``lane`` for ``seconds``, then one per interval (no burst)."""


class SharedPacer:
    """``Pacer``'s budget (burst, then ``rate`` per second), shared through a ``LaneClock``."""

    def __init__(self, turns: LaneClock, clock: Clock | None = None) -> None:
        self.turns = turns
        self.clock = clock or SystemClock()

    async def wait_turn(self, lane: str, pace: Pace) -> None:
        delay = await self.turns.reserve_turn(lane, 1 / pace.rate, pace.burst)
        if delay > 0:
            await self.clock.sleep(delay)

    def sent(self, lane: str) -> None:
        """Nothing to count: ``wait_turn`` already reserved the slot in the shared clock."""

    async def hold(self, lane: str, seconds: float, pace: Pace) -> None:
        await self.turns.hold_lane(lane, seconds, 1 / pace.rate, pace.burst)

    def backlog_seconds(self, lane: str, queued: int, pace: Pace) -> float:
        return queued / pace.rate
