"""The normalized Event: what every provider produces and everything downstream reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SEVERITIES = ("info", "warning", "error", "critical")
Severity = Literal["info", "warning", "error", "critical"]
Status = Literal["open", "acknowledged", "resolved"]


def severity_rank(severity: str) -> int:
    """Position in ``SEVERITIES``; unknown values rank as ``info``."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


# Severity words as senders and people write them (a Prometheus `severity` label, a
# generic sender's field) -> ours.
SEVERITY_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "crit": "critical",
    "page": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "error": "error",
    "err": "error",
    "high": "error",
    "major": "error",
    "failure": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "info": "info",
    "informational": "info",
    "notice": "info",
    "low": "info",
    "none": "info",
    "ok": "info",
}


def severity_of(word: str, default: Severity) -> Severity:
    """Our severity for a sender's word (case-insensitive), or ``default``."""
    return SEVERITY_WORDS.get(word.strip().lower(), default)


PRIORITY_SEVERITY: dict[str, Severity] = {
    "P1": "critical",
    "P2": "error",
    "P3": "warning",
    "P4": "info",
    "P5": "info",
}
"""Incident priorities P1-P5, as PagerDuty and Datadog both name them -> ours."""


def check_severity(pattern: str) -> None:
    """Raise ``ValueError`` unless ``pattern`` (a level, ``>=level`` or a glob) can match.

    Routes and chat commands both filter on severity; a typo such as ``critcal`` would
    match nothing, silently, so both refuse it with this one message.
    """
    level = pattern.removeprefix(">=")
    if level not in SEVERITIES and not any(c in level for c in "*?["):
        raise ValueError(f"severity {pattern!r} is not one of {', '.join(SEVERITIES)}")


MATCH_FIELDS = ("source", "provider", "event", "severity", "status", "actor")
"""Event fields a route (or a command's selector) matches by name; other keys are labels."""


class Event(BaseModel):
    """One thing that happened, in our words, ready for routing and rendering.

    ``event`` is our dotted type chosen for routing (``pull_request.merged``,
    ``incident.triggered``); ``labels`` are the flat keys routes match on.
    """

    id: str = ""
    source: str
    provider: str
    event: str
    severity: Severity = "info"
    status: Status | None = None
    title: str
    text: str = ""
    url: str | None = None
    actor: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    matchers: dict[str, str] = Field(default_factory=dict)
    """The labels that pick it out at its source, as a silence made from chat matches it
    (an alert group's common labels): ``labels`` may add what a sender says besides
    (Grafana's ``state``), which no alert carries."""
    thread_key: str | None = None
    thread_alias: str | None = None
    """Another name of this event's conversation, kept with it: a pull request's head
    commit (``github:<repo>@<sha>``), which a CI result of a fork's pull request names."""
    thread_via: str | None = None
    """The alias of a conversation this event belongs to (a CI result's commit): when the
    store knows one by it, its thread key takes the place of ``thread_key``."""
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    payload: Any = None

    @property
    def family(self) -> str:
        """The template family: the part of ``event`` before the first dot."""
        return self.event.split(".", 1)[0]

    def match_value(self, key: str) -> str | None:
        """The value a route's ``match`` key compares against."""
        if key in MATCH_FIELDS:
            value = getattr(self, key)
            return None if value is None else str(value)
        return self.labels.get(key)
