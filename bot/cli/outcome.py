"""What became of one request, read from the store the running bot writes: the lines
``simulate`` prints once the bot has dealt with the event it sent.

The same records ``why`` reads, so ``simulate`` and ``why`` cannot disagree. The store
is read, not an HTTP endpoint of the bot: the CLI already shares the bot's config, and
an endpoint would be one more door to events' contents to guard.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import ActivityFilter, DeliveryRecord, Store


@dataclass(frozen=True)
class Outcome:
    lines: list[str]
    settled: bool
    """Nothing more will happen without someone acting (posted, muted, dead, unrouted)."""
    posted: bool
    """Every delivery reached its chat (or was held back on purpose: muted, unrouted)."""


async def outcome(store: Store, request_id: int) -> Outcome:
    """Where request ``request_id`` stands now."""
    activities = await store.activity(ActivityFilter(text=str(request_id), limit=50))
    mine = [a for a in activities if a.inbox_id == request_id]
    if not mine:
        return Outcome([f"request {request_id}: not in this store yet"], False, False)
    lines: list[str] = []
    settled = posted = True
    for activity in mine:
        event = activity.event
        if event is None:
            text, done, fine = _request_fate(activity.state, activity.error)
            lines.append(f"request {request_id}: {text}")
            settled, posted = settled and done, posted and fine
            continue
        if event.outcome == "unrouted":
            lines.append(f"{event.id} {event.type}: matched no route (stored, not posted)")
            continue
        if reason := event.detail.get("ignored"):
            lines.append(f"{event.id} {event.type}: {reason}")
            continue
        for delivery in await store.deliveries_for(event.id):
            text, done, fine = _delivery_fate(delivery)
            lines.append(f"{event.id} {event.type}: {text}")
            settled, posted = settled and done, posted and fine
    return Outcome(lines, settled, posted)


def _request_fate(state: str, error: str | None) -> tuple[str, bool, bool]:
    if state == "ignored":
        return "ignored: the provider makes no event of it (recorded)", True, True
    if state == "failed":
        return f"failed: {error}", True, False
    return "waiting to be normalized", False, False


def _delivery_fate(delivery: DeliveryRecord) -> tuple[str, bool, bool]:
    """``(text, settled, posted)`` for one delivery."""
    where = delivery.address if delivery.address.startswith("#") else delivery.target
    if delivery.state == "sent" and delivery.ref.get("action") == "grouped":
        return f"posted to {where} in digest {delivery.ref.get('digest')}", True, True
    if delivery.state == "sent":
        return f"posted to {where}", True, True
    if delivery.state == "muted":
        muted = delivery.last_error or "muted"  # "muted by m3 because ...", as why says
        return f"{muted} in {where} (kept; replay {delivery.id} posts it)", True, True
    if delivery.state == "dead":
        return f"dead letter for {where}: {delivery.last_error}", True, False
    if delivery.last_error:
        return f"retrying {where}: {delivery.last_error}", False, False
    return f"waiting to be posted to {where}", False, False
