"""How an event ended, as one word, and the one table that gives it a colour and an emoji.

Every provider and platform reads this table: a failed deploy is red whether or not its
conversation ended, an acknowledged incident amber, a recovery green, churn grey, a
dispute critical. A template may name the outcome (its ``outcome`` block); otherwise it
is read from the event's type, status and severity.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bot.core.events import Event, severity_rank

RED = "#E01E5A"
AMBER = "#ECB22E"
GREEN = "#2EB67D"
BLUE = "#439FE0"
GREY = "#8C959F"
PURPLE = "#8250DF"
CRITICAL = "#8B0000"


@dataclass(frozen=True)
class Look:
    color: str
    emoji: str


OUTCOMES: tuple[tuple[str, str, str, Look], ...] = (
    # (severity, status, outcome) -> look; "*" matches anything, the first match wins.
    ("critical", "*", "problem", Look(CRITICAL, "🚨")),
    ("*", "*", "disputed", Look(CRITICAL, "🚨")),
    ("critical", "*", "failed", Look(CRITICAL, "❌")),
    ("*", "*", "failed", Look(RED, "❌")),
    ("error", "*", "problem", Look(RED, "🔥")),
    ("warning", "*", "problem", Look(AMBER, "⚠️")),
    ("*", "*", "problem", Look(BLUE, "🔔")),
    ("*", "*", "acknowledged", Look(AMBER, "👀")),
    ("*", "*", "cancelled", Look(GREY, "⏹️")),
    ("*", "*", "churn", Look(AMBER, "📉")),
    ("*", "*", "merged", Look(PURPLE, "🟣")),
    ("*", "*", "succeeded", Look(GREEN, "✅")),
    ("*", "*", "resolved", Look(GREEN, "✅")),
    ("*", "*", "noted", Look(BLUE, "💬")),
    ("*", "*", "tagged", Look(BLUE, "🏷️")),
    ("*", "*", "*", Look(BLUE, "🔵")),
)

_FAILED = ("failed", "failure", "payment_failed", "error", "timed_out")
_CANCELLED = ("deleted", "canceled", "cancelled", "closed", "skipped")


def outcome_of(event: Event) -> str:
    """The outcome an event's own fields say, for templates that name none."""
    last = event.event.rsplit(".", 1)[-1]
    if last in _FAILED or event.labels.get("conclusion") in _FAILED:
        return "failed"
    if "dispute" in event.event:
        return "disputed"
    if last in _CANCELLED:
        return "cancelled"
    if event.status == "acknowledged":
        return "acknowledged"
    if event.status == "resolved":
        return "resolved"
    if event.status == "open" and severity_rank(event.severity) >= severity_rank("warning"):
        return "problem"
    if (event.status is None and "comment" in event.event) or last in ("annotated",):
        return "noted"
    return "info"


@functools.lru_cache(maxsize=1024)
def look(severity: str, status: str | None, outcome: str) -> Look:
    """The row of ``OUTCOMES`` for an event: its colour bar and its status emoji.

    Cached: the table is fixed and few combinations occur, and reading it row by row
    was 4% of planning an event (py-spy, a drained backlog)."""
    wanted = (severity, status or "", outcome)
    for *keys, found in OUTCOMES:
        if all(key in ("*", value) for key, value in zip(keys, wanted, strict=True)):
            return found
    raise AssertionError("OUTCOMES ends with a row matching everything")
