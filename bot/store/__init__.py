"""Durable storage: the inbox of raw requests, events, and the outbox of deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.errors import StoreUnavailable
from bot.store.base import Store
from bot.store.migrations import Migrated
from bot.store.records import (
    ActionRecord,
    Activity,
    ActivityFilter,
    AttemptRecord,
    Backlog,
    ConversationRecord,
    DeliveryRecord,
    DigestRecord,
    EventRecord,
    HeartbeatRecord,
    InboxItem,
    MuteRecord,
    RerouteRecord,
)

if TYPE_CHECKING:
    from bot.store.postgres.store import PostgresStore
    from bot.store.sqlite.store import SQLiteStore


def is_shared(url: str) -> bool:
    """Whether several processes (web and worker instances) can use the store at once."""
    return url.startswith(("postgres://", "postgresql://"))


def url_problem(url: str) -> str | None:
    """Why ``url`` names no store the bot can open (checked with the config), or None."""
    if url.startswith("sqlite://") or is_shared(url):
        return None
    return (
        f"unsupported store url {url.split(':', 1)[0]!r}: "
        "use sqlite:///FILE or postgresql://USER@HOST/DATABASE"
    )


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite://`` url names (relative to the working folder), else None."""
    if not url.startswith("sqlite://"):
        return None
    return url.removeprefix("sqlite://").removeprefix("/") or "bot.db"


async def open_store(url: str, *, synchronous: str = "normal", busy_timeout: float = 5.0) -> Store:
    """Open (and migrate) the store named by ``url``; ``synchronous`` and
    ``busy_timeout`` (seconds) apply to SQLite only, as ``[store]`` says."""
    return await _open(url, synchronous, busy_timeout)


async def migrate(url: str, *, synchronous: str = "normal", busy_timeout: float = 5.0) -> Migrated:
    """Bring the schema of the store named by ``url`` up to date; says what that took."""
    store = await _open(url, synchronous, busy_timeout)
    await store.close()
    return store.migrated


async def _open(url: str, synchronous: str, busy_timeout: float) -> SQLiteStore | PostgresStore:
    if problem := url_problem(url):
        raise StoreUnavailable(problem)
    if (path := sqlite_path(url)) is not None:
        from bot.store.sqlite.store import SQLiteStore

        return await SQLiteStore.open(path, synchronous=synchronous, busy_timeout=busy_timeout)
    from bot.store.postgres.store import PostgresStore

    return await PostgresStore.open(url)


__all__ = [
    "ActionRecord",
    "Activity",
    "ActivityFilter",
    "AttemptRecord",
    "Backlog",
    "ConversationRecord",
    "DeliveryRecord",
    "DigestRecord",
    "EventRecord",
    "HeartbeatRecord",
    "InboxItem",
    "Migrated",
    "MuteRecord",
    "RerouteRecord",
    "Store",
    "is_shared",
    "migrate",
    "open_store",
    "sqlite_path",
    "url_problem",
]
