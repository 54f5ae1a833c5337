"""Choosing dead letters to list or replay: by target, source, error text and age.

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

from bot.durations import parse_duration
from bot.store import Store

SCAN_LIMIT = 1_000_000
"""Dead letters read to apply a filter: all of them, in practice."""


def parse_since(text: str, now: float) -> float:
    """``2h`` (that long ago) or an ISO date/time (UTC unless it says otherwise)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a duration (30m, 2h, 1d) or a date (2024-05-01T12:00)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


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


async def matching(store: Store, chosen: DeadLetterFilter, limit: int) -> list[dict[str, Any]]:
    """Dead letters admitted by ``chosen``, newest first, at most ``limit``."""
    rows = await store.dead_letters(SCAN_LIMIT)
    return [row for row in rows if chosen.admits(row)][:limit]
