"""What happens to one raw request: normalize -> route -> render, with no I/O.

The normalize stage stores what this decides; ``python -m bot explain`` prints it. Both
go through this one code path, so an explanation cannot drift from what the bot does.
"""

from __future__ import annotations

from bot.config import Settings
from bot.events import Event
from bot.providers import PROVIDERS, WebhookRequest
from bot.rendering import Renderer
from bot.routing import Router
from bot.store import DeliveryRecord, EventRecord, InboxItem


class Planner:
    """Turns an inbox item into events, and each event into its record and outbox rows."""

    def __init__(self, settings: Settings, renderer: Renderer) -> None:
        self.settings = settings
        self.router = Router(settings)
        self.renderer = renderer

    def normalize(self, item: InboxItem) -> list[Event]:
        source = self.settings.sources.get(item.source)
        if source is None:
            raise LookupError(f"source {item.source!r} is no longer configured")
        provider = PROVIDERS[source.provider]
        request = WebhookRequest(item.headers, item.body)
        events = provider.normalize(item.source, source, request, request.json())
        for number, event in enumerate(events):
            event.id = f"{item.id}.{number}"
        return events

    def plan(self, item: InboxItem, event: Event) -> tuple[EventRecord, list[DeliveryRecord]]:
        """Route and render one event: its record and its outbox rows."""
        decisions = self.router.route(event)
        deliveries = []
        for decision in decisions:
            target = self.settings.targets[decision.target]
            message = self.renderer.render(event, target.platform)
            deliveries.append(
                DeliveryRecord(
                    id=f"{event.id}/{decision.target}",
                    event_id=event.id,
                    target=decision.target,
                    platform=target.platform,
                    address=target.address,
                    message=message.model_dump(),
                    lifecycle=decision.lifecycle,
                    thread_key=event.thread_key,
                    status=event.status,
                    occurred_at=event.occurred_at.timestamp(),
                    created_at=item.received_at,
                    source=event.source,
                    event_type=event.event,
                )
            )
        detail = event.model_dump(mode="json", exclude={"payload"})
        detail["targets"] = [d.target for d in decisions]
        detail["routes"] = [d.route for d in decisions]
        record = EventRecord(
            id=event.id,
            inbox_id=item.id,
            source=event.source,
            type=event.event,
            severity=event.severity,
            status=event.status,
            title=event.title,
            thread_key=event.thread_key,
            occurred_at=event.occurred_at.timestamp(),
            outcome="routed" if decisions else "unrouted",
            detail=detail,
        )
        return record, deliveries
