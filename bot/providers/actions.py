"""Which buttons a conversation offers in its current state: the table, free of I/O.

It lives beside the providers (not in ``bot.commands``) because the planner puts the
first message's buttons on before anyone clicks, and the action core asks the same
question at every click: one table, so a button shown is a button that works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ActionKind:
    name: str
    """As a button's id carries it and the store and metrics record it: never rename."""
    label: str
    style: str = ""
    hours: float = 0.0
    """How long a silence or mute lasts."""
    done: str = ""
    """How the message says it was done: ``Acknowledged`` (``by @alice via Slack``)."""


KINDS = {
    kind.name: kind
    for kind in (
        ActionKind("acknowledge", "Acknowledge", "primary", done="Acknowledged"),
        ActionKind("resolve", "Resolve", "danger", done="Resolved"),
        ActionKind("silence_1h", "Silence 1h", hours=1, done="Silenced for 1h"),
        ActionKind("silence_4h", "Silence 4h", hours=4, done="Silenced for 4h"),
        ActionKind("silence_24h", "Silence 24h", hours=24, done="Silenced for 24h"),
        ActionKind("unsilence", "Unsilence", done="Unsilenced"),
        ActionKind("rerun", "Re-run failed jobs", "primary", done="Re-run of failed jobs started"),
        ActionKind("mute_1h", "Mute this 1h", hours=1, done="Muted here for 1h"),
        ActionKind("unmute", "Unmute", done="Unmuted"),
    )
}
SILENCES = ("silence_1h", "silence_4h", "silence_24h")
PROVIDER_ACTIONS = {
    "pagerduty": ("acknowledge", "resolve"),
    "alertmanager": (*SILENCES, "unsilence"),
    "grafana": (*SILENCES, "unsilence"),
    "github": ("rerun",),
}
STATUS_AFTER = {"acknowledge": "acknowledged", "resolve": "resolved"}
"""The conversation's status once an action succeeded (others leave it as it is)."""


@dataclass(frozen=True)
class State:
    """What a conversation's buttons depend on."""

    event: str
    """The normalized type of the event it shows (``workflow_run.failed``)."""
    status: str | None
    silenced: bool = False
    muted: bool = False


def api_ready(source: Any) -> bool:
    """Whether the source's API is configured, so its actions can be carried out."""
    return bool(getattr(source, "api_configured", False))


def offered(provider: str, source: Any, state: State, ours: bool) -> list[str]:
    """The actions possible now, in the order their buttons show.

    ``ours``: the platform takes clicks, so the bot's own Mute and Unmute work there.
    Nothing is offered on a resolved conversation; a silenced alert offers only Unsilence.
    """
    if state.status == "resolved":
        return []
    if state.silenced:
        return ["unsilence"]
    names: list[str] = []
    if api_ready(source):
        names.extend(name for name in PROVIDER_ACTIONS.get(provider, ()) if _fits(name, state))
    if ours:
        names.append("unmute" if state.muted else "mute_1h")
    return names


def _fits(name: str, state: State) -> bool:
    if name == "acknowledge":
        return state.status == "open"
    if name == "rerun":
        return state.event == "workflow_run.failed"
    if name == "unsilence":
        return state.silenced
    return True
