"""What happens to one raw request: normalize -> route -> render, with no I/O.

The normalize stage stores what this decides; ``python -m bot explain`` prints it. Both
go through this one code path, so an explanation cannot drift from what the bot does.
"""

from __future__ import annotations

from jinja2 import TemplateError

from bot.config.settings import Settings
from bot.core.events import Event
from bot.pipeline.buttons import buttons
from bot.pipeline.grouping import Grouping, grouping_for
from bot.pipeline.heartbeats import is_heartbeat
from bot.pipeline.history import decided
from bot.pipeline.overrides import Overrides
from bot.pipeline.quiet import HELD_INTERVAL, hold_for
from bot.pipeline.route import Router, ignored_reason
from bot.providers import PROVIDERS, WebhookRequest
from bot.providers.actions import State
from bot.render.renderer import Renderer
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
        payload = None if provider.ping else request.json()  # a ping's body is not read
        events = provider.normalize(item.source, source, request, payload)
        for number, event in enumerate(events):
            event.id = f"{item.id}.{number}"
        return events

    def plan(
        self, item: InboxItem, event: Event, overrides: Overrides | None = None
    ) -> tuple[EventRecord, list[DeliveryRecord]]:
        """Route and render one event: its record and its outbox rows.

        Mutes and reroutes (``overrides``) apply on top of the routes; a muted copy is
        stored in state ``muted`` so ``why``, ``status`` and the mute's digest see it.
        """
        source = self.settings.sources.get(event.source)
        if source is not None and is_heartbeat(source, event):
            return self._sign_of_life(item, event), []
        decisions = self.router.route(event)
        ignored = None if decisions else ignored_reason(event)
        placements = (
            []  # not even a reroute takes what no route asked for
            if ignored
            else (overrides or Overrides()).place(event, decisions, self.settings.targets)
        )
        deliveries = []
        grouped: list[str] = []
        held: list[str] = []
        templates: dict[str, str] = {}
        for placement in placements:
            where = placement.destination
            message = self.renderer.render(event, where.platform)
            templates[where.name] = self._template_name(event, where.platform)
            if event.thread_key is not None:  # a click acts on a conversation
                state = State(event.event, event.status)
                message.actions = buttons(
                    self.settings, event.source, state, where.platform, f"{event.id}/{where.name}"
                )
            group_key, interval, not_before = None, 0.0, 0.0
            if placement.route is not None and not placement.muted_by:
                route = self.settings.routes[placement.route]
                if (hold := hold_for(route, event.severity, item.received_at)) is not None:
                    group_key = hold.group_key(placement.route, where.name)
                    held.append(f"{where.name}: {hold.why}")
                    interval, not_before = HELD_INTERVAL, hold.until
                elif (grouping := grouping_for(route, event.provider)) is not None:
                    group_key = Grouping.key(placement.route, where.name)
                    grouped.append(f"{where.name} {grouping.describe()}")
                    interval, not_before = grouping.interval, item.received_at + grouping.wait
            deliveries.append(
                DeliveryRecord(
                    id=f"{event.id}/{where.name}",
                    event_id=event.id,
                    target=where.name,
                    platform=where.platform,
                    address=where.address,
                    message=message.model_dump(),
                    state="muted" if placement.muted_by else "pending",
                    lifecycle=placement.lifecycle,
                    thread_key=event.thread_key,
                    status=event.status,
                    occurred_at=event.occurred_at.timestamp(),
                    created_at=item.received_at,
                    last_error=placement.note,
                    source=event.source,
                    event_type=event.event,
                    muted_by=placement.muted_by.id if placement.muted_by else None,
                    group_key=group_key,
                    group_interval=interval,
                    not_before=not_before,
                )
            )
        detail = event.model_dump(mode="json", exclude={"payload"})
        detail["targets"] = [p.destination.name for p in placements]
        detail["routes"] = [d.route for d in decisions]
        detail["muted"] = {p.destination.name: p.note for p in placements if p.muted_by}
        if grouped:
            detail["group"] = "; ".join(grouped)
        if held:
            detail["held"] = "; ".join(held)
        if ignored:
            detail["ignored"] = ignored
        if placements and placements[0].rerouted_by:
            detail["rerouted_by"] = f"r{placements[0].rerouted_by.id}"
        delivered = [p for p in placements if not p.muted_by]
        outcome = "routed" if delivered else "muted" if placements else "unrouted"
        if ignored:
            outcome = "ignored"
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
            outcome=outcome,
            detail=detail,
            decision=decided(self.router, decisions, templates),
            thread_alias=event.thread_alias,
        )
        return record, deliveries

    def _template_name(self, event: Event, platform: str) -> str:
        try:
            return self.renderer.template_for(event, platform).name or "?"
        except TemplateError as exc:
            return f"none ({exc})"

    @staticmethod
    def _sign_of_life(item: InboxItem, event: Event) -> EventRecord:
        """A heartbeat event: recorded, never routed (``why`` says so)."""
        detail = event.model_dump(mode="json", exclude={"payload"})
        detail.update(targets=[], routes=[], muted={})
        detail["heartbeat"] = (
            f"a heartbeat of {event.source}: it resets the source's silence alarm, not posted"
        )
        return EventRecord(
            id=event.id,
            inbox_id=item.id,
            source=event.source,
            type=event.event,
            severity=event.severity,
            status=event.status,
            title=event.title,
            thread_key=event.thread_key,
            occurred_at=event.occurred_at.timestamp(),
            outcome="ignored",
            detail=detail,
        )
