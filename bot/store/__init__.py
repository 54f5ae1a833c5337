"""Durable storage: the inbox of raw requests, events, and the outbox of deliveries."""

from __future__ import annotations

from bot.store.base import Store
from bot.store.records import (
    AttemptRecord,
    Backlog,
    DeliveryRecord,
    EventRecord,
    InboxItem,
    MuteRecord,
    RerouteRecord,
)


async def open_store(url: str, *, synchronous: str = "normal") -> Store:
    """Open (and migrate) the store named by ``url``."""
    if url.startswith("sqlite://"):
        from bot.store.sqlite import SQLiteStore

        return await SQLiteStore.open(
            url.removeprefix("sqlite://").removeprefix("/") or "bot.db", synchronous=synchronous
        )
    raise ValueError(f"unsupported store url {url.split(':', 1)[0]!r}: use sqlite:///FILE")


__all__ = [
    "AttemptRecord",
    "Backlog",
    "DeliveryRecord",
    "EventRecord",
    "InboxItem",
    "MuteRecord",
    "RerouteRecord",
    "Store",
    "open_store",
]
