"""What the inspector shows: recent requests and events, each with its route decision,
rendered messages and every delivery attempt, gathered from the store for one page."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from bot.config.settings import Settings
from bot.core.events import Event
from bot.ops.logs import redact
from bot.pipeline.history import history_lines
from bot.render.renderer import Message
from bot.store import Activity, ActivityFilter, AttemptRecord, DeliveryRecord, Store

STATES = ("pending", "delivered", "failed", "unrouted", "muted", "ignored")
PAGE_SIZE = 50
_COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}")
_EVENT_FIELDS = set(Event.model_fields) | {"targets", "routes"}


@dataclass(frozen=True)
class Query:
    """The page's filters, as they travel in the URL."""

    source: str = ""
    state: str = ""
    text: str = ""
    before: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> Query:
        state = str(params.get("state", ""))
        before = str(params.get("before", ""))
        return cls(
            source=str(params.get("source", ""))[:200],
            state=state if state in STATES else "",
            text=str(params.get("text", "")).strip()[:200],
            before=int(before) if before.isdigit() else None,
        )

    def wanted(self) -> ActivityFilter:
        return ActivityFilter(
            limit=PAGE_SIZE,
            before=self.before,
            source=self.source or None,
            state=self.state or None,
            text=self.text or None,
        )

    def url(self, **changes: Any) -> str:
        """``/inspect`` with these filters (and ``changes``), for links and redirects."""
        values = {"source": self.source, "state": self.state, "text": self.text}
        values.update(changes)
        kept = {k: v for k, v in values.items() if v not in ("", None)}
        return "/inspect" + (f"?{urlencode(kept)}" if kept else "")


@dataclass
class DeliveryView:
    record: DeliveryRecord
    message: Message | None
    color: str
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def address(self) -> str:
        """Where it goes, without the token a Discord webhook URL carries."""
        return redact(self.record.address)


@dataclass
class Row:
    """One event (or a request without events) with everything an operator asks about."""

    activity: Activity
    routes: list[str]
    notes: list[tuple[str, str]]
    deliveries: list[DeliveryView]
    replay_id: str
    replay_label: str


async def gather(store: Store, settings: Settings, query: Query) -> dict[str, Any]:
    """The template's context for one page."""
    page = await store.activity(query.wanted())
    activities = _whole_requests(page)
    event_ids = [a.event.id for a in activities if a.event is not None]
    deliveries = await store.deliveries_of(event_ids)
    attempts = await store.attempts_of([d.id for d in deliveries])
    by_event: dict[str, list[DeliveryView]] = {}
    views: dict[str, DeliveryView] = {}
    for delivery in deliveries:
        view = _delivery_view(delivery)
        views[delivery.id] = view
        by_event.setdefault(delivery.event_id, []).append(view)
    for attempt in attempts:
        views[attempt.delivery_id].attempts.append(attempt)
    rows = [_row(a, by_event, settings) for a in activities]
    return {
        "rows": rows,
        "query": query,
        "sources": sorted(set(settings.sources) | ({query.source} - {""})),
        "states": STATES,
        "older": query.url(before=activities[-1].inbox_id) if len(page) >= PAGE_SIZE else None,
        "backlog": await store.backlog(),
        "dead_letters": await store.dead_letters(20),
        "rejections": await store.rejections(),
        "actions": await store.recent_actions(20),
    }


def _whole_requests(activities: list[Activity]) -> list[Activity]:
    """Drop a request cut in two by the page limit; the next page starts with it whole."""
    if len(activities) < PAGE_SIZE:
        return activities
    last = activities[-1].inbox_id
    kept = [a for a in activities if a.inbox_id != last]
    return kept or activities


def _delivery_view(delivery: DeliveryRecord) -> DeliveryView:
    try:
        message: Message | None = Message.model_validate(delivery.message)
    except ValidationError:
        message = None
    color = message.color if message and _COLOR.fullmatch(message.color) else "#999999"
    return DeliveryView(delivery, message, color)


def _row(activity: Activity, by_event: dict[str, list[DeliveryView]], settings: Settings) -> Row:
    event = activity.event
    if event is None:
        return Row(activity, [], [], [], str(activity.inbox_id), "Replay request")
    routes = history_lines(settings, event.decision, event.detail)
    notes = [
        (key, _note(value))
        for key, value in event.detail.items()
        if key not in _EVENT_FIELDS and value
    ]
    deliveries = by_event.get(event.id, [])
    if deliveries:
        return Row(activity, routes, notes, deliveries, event.id, "Replay")
    # Nothing to send again: route the request again with today's rules instead.
    return Row(activity, routes, notes, [], str(activity.inbox_id), "Re-route request")


def _note(value: Any) -> str:
    """A decision note (``muted``, ``rerouted_by``...) as one readable line."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_note(v)}" for k, v in value.items())
    return value if isinstance(value, str) else json.dumps(value)
