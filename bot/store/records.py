"""Rows as the pipeline sees them, independent of the database behind the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InboxItem:
    """A raw webhook request as it was accepted: the source of truth for replay."""

    id: int
    source: str
    delivery_id: str
    received_at: float
    headers: dict[str, str]
    body: bytes
    attempts: int = 0


@dataclass(frozen=True)
class EventRecord:
    """A normalized event and what routing decided for it."""

    id: str
    inbox_id: int
    source: str
    type: str
    severity: str
    status: str | None
    title: str
    thread_key: str | None
    occurred_at: float
    outcome: str
    detail: dict[str, Any]
    decision: dict[str, Any] | None = None
    """The routes (in words), targets and templates chosen when it was planned; None
    for events recorded before decisions were kept (see ``bot.pipeline.history``)."""
    thread_alias: str | None = None
    """Another name of its conversation (``Event.thread_alias``)."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One (event, target) pair in the outbox, with the message rendered for it."""

    id: str
    event_id: str
    target: str
    platform: str
    address: str
    message: dict[str, Any]
    state: str = "pending"
    lifecycle: str = "update+thread"
    thread_key: str | None = None
    status: str | None = None
    occurred_at: float = 0.0
    attempts: int = 0
    created_at: float = 0.0
    last_error: str | None = None
    ref: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    event_type: str = ""
    muted_by: int | None = None
    """With ``state = "muted"``: the mute that suppressed it, counted in that mute's digest."""
    group_key: str | None = None
    """Set on a route that groups bursts: deliveries sharing it may become one digest."""
    group_interval: float = 0.0
    """How often that group's digest may be edited (see ``bot.pipeline.grouping``)."""
    not_before: float = 0.0
    """When it may first be tried (a grouping route waits ``group_wait``); not stored."""


@dataclass(frozen=True)
class ConversationRecord:
    """Events sharing a ``thread_key`` at a target: where their first message lives and
    the state it shows."""

    target: str
    thread_key: str
    ref: dict[str, Any]
    """The platform's address of the first message (and of its thread, once there is one)."""
    status: str | None
    latest_at: float
    """``occurred_at`` of the newest state shown; older events no longer change it."""
    ended: bool
    """Resolved: the next event with this key starts a new message."""
    started_by: str
    """The delivery that posted the first message."""


@dataclass(frozen=True)
class AttemptRecord:
    """One call to a chat platform for a delivery, kept so operators can see each try."""

    delivery_id: str
    at: float
    outcome: str
    """``sent``, ``retry`` or ``dead``: what the delivery stage decided after the call."""
    http_status: int | None
    """The platform's HTTP status when it answered with an error; ``None`` otherwise."""
    error: str | None
    duration: float
    """Seconds the call took."""


@dataclass(frozen=True)
class Backlog:
    """What is waiting, for the metrics gauges: cheap enough to read on every scrape."""

    inbox_pending: int
    deliveries_pending: int
    oldest_pending_at: float | None
    """When the oldest request or delivery still waiting was received."""
    dead_deliveries: int
    dead_requests: int


@dataclass(frozen=True)
class MuteRecord:
    """A mute set from chat or the CLI: matching deliveries are kept but not posted.

    ``platform``/``channel``/``channel_name`` say where it was issued (and what it covers
    unless ``everywhere``); ``threads`` binds an ``until resolved`` mute to the
    conversations that were open when it was made.
    """

    selector: dict[str, list[str]]
    platform: str
    channel: str
    channel_name: str
    everywhere: bool
    reason: str
    creator: str
    created_at: float
    expires_at: float | None
    threads: list[str] = field(default_factory=list)
    id: int = 0
    ended_at: float | None = None
    ended_by: str = ""
    end_reason: str = ""


@dataclass(frozen=True)
class RerouteRecord:
    """A reroute set from chat or the CLI: matching events go to one destination instead.

    ``target`` is a configured target's name, or empty when the destination is a channel
    no target names (then ``platform`` and ``address`` say where it is).
    """

    selector: dict[str, list[str]]
    target: str
    platform: str
    address: str
    label: str
    creator: str
    created_at: float
    expires_at: float | None
    id: int = 0
    ended_at: float | None = None
    ended_by: str = ""


@dataclass(frozen=True)
class Activity:
    """One line of the inspector: an event, or a request that produced none."""

    inbox_id: int
    source: str
    delivery_id: str
    """The sender's id of the request (GitHub's ``X-GitHub-Delivery``...)."""
    received_at: float
    headers: dict[str, str]
    """The headers the inbox keeps (the sender's event type, never credentials)."""
    state: str
    """``pending``, ``delivered``, ``failed``, ``ignored``, or the event's own outcome
    when it was not routed (``unrouted``, ``muted``...)."""
    error: str | None
    """Why the request could not be normalized, if it could not."""
    event: EventRecord | None


@dataclass(frozen=True)
class ActivityFilter:
    """What the inspector asks for; ``None`` means any."""

    limit: int = 100
    before: int | None = None
    """Only requests with a smaller inbox id (the next page)."""
    source: str | None = None
    state: str | None = None
    text: str | None = None
    """Case-insensitive substring of the title, type, labels, actor or sender's id;
    or exactly a request, event or delivery id."""


@dataclass(frozen=True)
class DigestRecord:
    """One message standing for a burst of grouped deliveries, edited as the burst goes on."""

    id: str
    group_key: str
    ref: dict[str, Any]
    """Where the digest message lives (as the adapter returned it)."""
    entries: dict[str, dict[str, Any]]
    """The latest state of each event shown, by conversation (or delivery) id."""
    opened_at: float
    updated_at: float
    """The last post or edit: the next edit waits ``group_interval`` after it."""


@dataclass(frozen=True)
class ActionRecord:
    """One click on a button that acts on a source, and what came of it."""

    action: str
    source: str
    delivery_id: str
    target: str
    thread_key: str
    platform: str
    user_id: str
    user_name: str
    identity: str
    outcome: str
    """``running``, then ``ok`` or ``failed``; ``refused``, ``stale`` and ``duplicate``
    clicks are recorded too (nothing was done)."""
    answer: str
    created_at: float
    detail: dict[str, Any] = field(default_factory=dict)
    """What undoing it needs: ``silence`` (the provider's id), ``mute`` (ours), ``until``."""
    dedup_key: str | None = None
    finished_at: float | None = None
    id: int = 0


@dataclass(frozen=True)
class HeartbeatRecord:
    """A watched source's dead man's switch: when it was last heard from and whether its
    silence alarm is raised."""

    source: str
    watched_since: float
    last_at: float | None
    """None: nothing heard since the watch began."""
    alarm_at: float | None
    """When the silence alarm was raised; None while the source is heard from."""

    @property
    def silent_since(self) -> float:
        return self.last_at if self.last_at is not None else self.watched_since
