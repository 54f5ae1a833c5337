"""Replay: deliver something again. One code path for the CLI, the inspector and chat.

Any of the three ids works (README, "Chat commands"): a request id (``12``) is normalized
again with today's config, an event id (``12.0``) puts its deliveries back in the outbox,
a delivery id (``12.0/eng``) puts that one back, each for a full round of attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.errors import BotError
from bot.store import Store


class ReplayError(BotError):
    """Nothing was queued; the message says why and what to replay instead."""


@dataclass(frozen=True)
class Replayed:
    what: str
    """What was queued, in words: ``delivery 12.0/eng``."""
    stage: Literal["inbox", "outbox"]
    """The stage that now has work (a running bot wakes it)."""


async def replay(store: Store, ident: str, now: float) -> Replayed:
    ident = ident.strip()
    if "/" in ident:
        if not await store.requeue_delivery(ident, now):
            raise ReplayError(f"no delivery with id {ident}")
        return Replayed(f"delivery {ident}", "outbox")
    if "." in ident:
        deliveries = await store.deliveries_for(ident)
        if not deliveries:
            event = await store.get_event(ident)
            if event is None:
                raise ReplayError(f"no event with id {ident}")
            raise ReplayError(
                f"event {ident} has no deliveries ({event.outcome}); replay its request "
                f"{event.inbox_id} to route it again with today's config"
            )
        for delivery in deliveries:
            await store.requeue_delivery(delivery.id, now)
        return Replayed(f"event {ident} ({len(deliveries)} deliveries)", "outbox")
    if ident.isdigit():
        if not await store.requeue_inbox(int(ident), now):
            raise ReplayError(f"no request with id {ident}")
        return Replayed(f"request {ident} (normalized again with today's config)", "inbox")
    raise ReplayError(f"{ident!r} is not an id (request 12, event 12.0 or delivery 12.0/target)")
