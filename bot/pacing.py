"""Per-channel pacing: a token bucket per lane, slowed further by any Retry-After.

Slack allows about one message per second per channel with short bursts; a lane that
is waiting never holds up another lane.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float = 1.0
    burst: float = 5.0
    tokens: float = 5.0
    updated: float = field(default_factory=time.monotonic)
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
    """Buckets by lane, created on first use."""

    def __init__(self, rate: float = 1.0, burst: float = 5.0) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, lane: str) -> TokenBucket:
        if lane not in self._buckets:
            self._buckets[lane] = TokenBucket(self.rate, self.burst, self.burst)
        return self._buckets[lane]

    async def wait_turn(self, lane: str) -> None:
        bucket = self.bucket(lane)
        while (delay := bucket.delay(time.monotonic())) > 0:
            await asyncio.sleep(delay)
        bucket.take(time.monotonic())

    def backlog_seconds(self, lane: str, queued: int) -> float:
        """Rough wait for the ``queued``-th message in a lane, to defer work honestly."""
        return queued / self.rate
