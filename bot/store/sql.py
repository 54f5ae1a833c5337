"""The store methods whose SQL both backends run, written once over a ``Dialect``.

Shared statements mark each parameter with ``?`` (SQLite's own style; the PostgreSQL
store numbers them ``$1``, ``$2``... before sending) and take from the dialect what
truly differs: how a list travels, which column breaks ties in insertion order, how a
claim skips rows a peer holds. Each backend supplies the few primitives below (how a
statement reaches the database) and the methods its engine wants done its own way:
intake, claiming requests, recording an outcome, purging.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

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
    MuteRecord,
    RerouteRecord,
)
from bot.store.rows import (
    ACTION_COLUMNS,
    ATTEMPT_COLUMNS,
    CONVERSATION_COLUMNS,
    DELIVERY_COLUMNS,
    DIGEST_COLUMNS,
    EVENT_COLUMNS,
    MUTE_COLUMNS,
    REROUTE_COLUMNS,
    action_from_row,
    action_values,
    activity_args,
    activity_from_row,
    activity_query,
    attempt_values,
    conversation_from_row,
    conversation_values,
    delivery_from_row,
    delivery_values,
    digest_from_row,
    digest_values,
    event_from_row,
    mute_from_row,
    reroute_from_row,
    to_json,
)

Queue = Literal["inbox", "outbox"]
"""Where a write adds work that another process may be waiting for."""


@dataclass(frozen=True)
class Dialect:
    """What the backends' SQL differs in, and nothing else."""

    arrays: bool
    """A list is one array parameter (PostgreSQL: ``= ANY(?::text[])``); otherwise one
    parameter per item (SQLite: ``IN (?, ?)``)."""
    insertion_order: str
    """The column ordering rows written in the same instant (SQLite's ``rowid``, an
    identity ``seq`` in PostgreSQL, whose tables have no rowid)."""
    event_order: str
    """How a request's events are listed: SQLite has always sorted them by id, PostgreSQL
    by insertion; the same order unless one request yields more than ten events."""
    skip_locked: str
    """Ends a claim's choice of rows: PostgreSQL instances claim side by side without
    waiting for or taking each other's rows; one SQLite writer has nothing to skip."""
    no_flush: str
    """Starts a claim's WHERE: PostgreSQL's commit of it need not wait for the disk (see
    ``bot.store.postgres.store``); SQLite's group commit decides that itself."""
    insert_or_ignore: tuple[str, str]
    """What goes before ``INTO`` and after ``VALUES (...)`` in an insert that skips rows
    already there: SQLite's ``OR IGNORE`` also skips a row breaking NOT NULL."""
    param: Callable[[int, str], str]
    """The n-th parameter of a statement that uses one more than once, with its SQL type
    (PostgreSQL cannot infer one from ``$1 IS NULL``)."""

    def among(
        self, column: str, values: Sequence[Any], sql_type: str
    ) -> tuple[str, tuple[Any, ...]]:
        """The condition that ``column`` is one of ``values``, and its parameters."""
        if self.arrays:
            return f"{column} = ANY(?::{sql_type}[])", (list(values),)
        return f"{column} IN ({', '.join('?' * len(values)) or 'NULL'})", tuple(values)


class Step(NamedTuple):
    """One statement of a transaction; ``many``: ``args`` is a list of rows to run it for."""

    sql: str
    args: Sequence[Any] = ()
    many: bool = False


CONVERSATION_UPSERT = (
    f"INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (target, thread_key) DO UPDATE SET ref = excluded.ref, "
    "status = excluded.status, latest_at = excluded.latest_at, ended = excluded.ended, "
    "started_by = excluded.started_by, updated_at = excluded.updated_at"
)
ATTEMPT_INSERT = f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
PURGEABLE_REQUESTS = (
    "SELECT id FROM inbox WHERE received_at < ? AND state <> 'new' AND NOT EXISTS ("
    "SELECT 1 FROM deliveries d WHERE d.inbox_id = inbox.id "
    "AND (d.state = 'pending' OR (d.state = 'dead' AND d.updated_at >= ?)))"
)
"""Requests older than the cut whose every delivery is done with (a dead letter once it
has been dead since the cut); the parameters are the cut, twice."""
PURGEABLE_LOOSE_DELIVERIES = (
    "SELECT id FROM deliveries WHERE inbox_id = 0 AND state <> 'pending' "
    "AND updated_at < ? AND created_at < ?"
)
"""Outbox rows of no request (notices, announcements) done with before the cut."""
_ACTIVITY_TYPES = {1: "bigint", 2: "text", 3: "text", 4: "text", 5: "text", 6: "int"}
"""The SQL types of ``activity_args``, in order."""


def _by_age(rows: list[Any]) -> list[DeliveryRecord]:
    return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.created_at, d.id))


BACKLOG = (
    "SELECT (SELECT count(*) FROM inbox WHERE state = 'new') AS inbox_pending, "
    "(SELECT received_at FROM inbox WHERE state = 'new' ORDER BY id LIMIT 1) AS inbox_oldest, "
    "(SELECT count(*) FROM deliveries WHERE state = 'pending') AS deliveries_pending, "
    "(SELECT min(created_at) FROM deliveries WHERE state = 'pending') AS outbox_oldest, "
    "(SELECT count(*) FROM deliveries WHERE state = 'dead') AS dead_deliveries, "
    "(SELECT count(*) FROM inbox WHERE state = 'dead') AS dead_requests"
)
"""What ``/metrics`` reads at every scrape. Each part reads a partial index, so a scrape
costs the size of the backlog, not of the history kept for ``retention_days``; the oldest
waiting message is one step down ``deliveries_pending_age``."""


class SQLStore(ABC):
    """The ``Store`` methods both backends share; see the module docstring."""

    dialect: Dialect
    migrated: Migrated
    """What opening the store did to its schema (``python -m bot migrate`` says it)."""

    def __init__(self, migrated: Migrated) -> None:
        self.migrated = migrated
        dialect = self.dialect
        self._activity = activity_query(lambda n: dialect.param(n, _ACTIVITY_TYPES[n]))
        self._latest_in_thread = (
            "SELECT *, row_number() OVER (PARTITION BY thread_key ORDER BY created_at DESC, "
            f"{dialect.insertion_order} DESC) AS newest FROM events WHERE thread_key IS NOT NULL"
        )

    # -- what each backend provides -------------------------------------------

    @abstractmethod
    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """The rows a read returns."""

    @abstractmethod
    async def _write_fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """The rows a one-statement write returns (``RETURNING``), once it is durable."""

    @abstractmethod
    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a one-statement write; returns the rows it changed, once it is durable."""

    @abstractmethod
    async def _transaction(self, steps: Sequence[Step], *, wakes: Queue | None = None) -> int:
        """Run ``steps`` in one transaction, announcing new work in ``wakes`` with it;
        returns the rows the last step changed (when it is a single statement)."""

    async def _attempted(self, steps: Sequence[Step], attempt: AttemptRecord) -> None:
        """A delivery's new state (the first step) and the attempt that led to it, with
        any statements that belong with them, in one write."""
        await self._transaction([*steps, Step(ATTEMPT_INSERT, attempt_values(attempt))])

    # -- shared ---------------------------------------------------------------

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def count_rejection(self, source: str, reason: str, now: float) -> None:
        await self._execute(
            "INSERT INTO rejections AS r (source, reason, count, last_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (source, reason) DO UPDATE SET count = r.count + 1, "
            "last_at = excluded.last_at",
            (source, reason, now),
        )

    async def rejections(self) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT source, reason, count, last_at FROM rejections ORDER BY last_at DESC"
        )
        return [dict(row) for row in rows]

    async def fail_inbox(self, inbox_id: int, error: str, now: float) -> None:
        await self._execute(
            "UPDATE inbox SET state = 'dead', lease_until = NULL, error = ? WHERE id = ?",
            (error, inbox_id),
        )

    # -- deliver stage ------------------------------------------------------

    async def claim_deliveries(self, limit: int, now: float, lease: float) -> list[DeliveryRecord]:
        d = self.dialect
        rows = await self._write_fetch(
            f"UPDATE deliveries SET lease_until = ? WHERE {d.no_flush}id IN ("
            "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ?"
            f"{d.skip_locked}) RETURNING {DELIVERY_COLUMNS}",
            (now + lease, now, now, limit),
        )
        return _by_age(rows)

    async def renew_leases(self, delivery_ids: list[str], until: float) -> None:
        """Only leases still held: a delivery deferred or put back for a retry since the
        caller listed it has none, and renewing would hide it until ``until``."""
        if delivery_ids:
            d = self.dialect
            among, args = d.among("id", delivery_ids, "text")
            await self._execute(
                f"UPDATE deliveries SET lease_until = ? WHERE {d.no_flush}state = 'pending' "
                f"AND lease_until IS NOT NULL AND {among}",
                (until, *args),
            )

    async def mark_sent(
        self,
        delivery_id: str,
        ref: dict[str, Any],
        now: float,
        *,
        started: float,
        http_status: int | None = None,
        conversation: ConversationRecord | None = None,
    ) -> None:
        steps = [
            Step(
                "UPDATE deliveries SET state = 'sent', ref = ?, attempts = attempts + 1, "
                "lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
                (to_json(ref), now, delivery_id),
            )
        ]
        if conversation is not None:
            steps.append(Step(CONVERSATION_UPSERT, conversation_values(conversation, now)))
        await self._attempted(
            steps, AttemptRecord(delivery_id, now, "sent", http_status, None, now - started)
        )

    async def mark_retry(
        self,
        delivery_id: str,
        error: str,
        next_attempt_at: float,
        now: float,
        *,
        started: float,
        http_status: int | None = None,
    ) -> None:
        await self._attempted(
            [
                Step(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
                    (error, next_attempt_at, now, delivery_id),
                )
            ],
            AttemptRecord(delivery_id, now, "retry", http_status, error, now - started),
        )

    async def mark_dead(
        self,
        delivery_id: str,
        error: str,
        now: float,
        *,
        started: float,
        http_status: int | None = None,
    ) -> None:
        await self._attempted(
            [
                Step(
                    "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, "
                    "last_error = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
                    (error, now, delivery_id),
                )
            ],
            AttemptRecord(delivery_id, now, "dead", http_status, error, now - started),
        )

    async def defer(self, delivery_id: str, until: float) -> None:
        await self._execute(
            "UPDATE deliveries SET next_attempt_at = ?, lease_until = NULL WHERE id = ?",
            (until, delivery_id),
        )

    async def get_conversation(self, target: str, thread_key: str) -> ConversationRecord | None:
        rows = await self._fetch(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE target = ? AND thread_key = ?",
            (target, thread_key),
        )
        return conversation_from_row(rows[0]) if rows else None

    async def attempts_of(self, delivery_ids: list[str]) -> list[AttemptRecord]:
        if not delivery_ids:
            return []
        among, args = self.dialect.among("delivery_id", delivery_ids, "text")
        rows = await self._fetch(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE {among} "
            f"ORDER BY at, {self.dialect.insertion_order}",
            args,
        )
        return [AttemptRecord(**dict(row)) for row in rows]

    # -- storm grouping -------------------------------------------------------

    async def take_group(
        self, group_key: str, held: list[str], now: float, lease: float
    ) -> list[DeliveryRecord]:
        d = self.dialect
        among, args = d.among("id", held, "text")
        rows = await self._write_fetch(
            "UPDATE deliveries SET lease_until = ? WHERE id IN ("
            "SELECT id FROM deliveries WHERE group_key = ? AND state = 'pending' "
            f"AND (lease_until IS NULL OR lease_until < ? OR {among}){d.skip_locked}) "
            f"RETURNING {DELIVERY_COLUMNS}",
            (now + lease, group_key, now, *args),
        )
        return _by_age(rows)

    async def latest_digest(self, group_key: str) -> DigestRecord | None:
        rows = await self._fetch(
            f"SELECT {DIGEST_COLUMNS} FROM digests WHERE group_key = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (group_key,),
        )
        return digest_from_row(rows[0]) if rows else None

    async def last_digest_at(self, group_key: str) -> float | None:
        rows = await self._fetch(
            "SELECT updated_at FROM digests WHERE group_key = ? ORDER BY updated_at DESC LIMIT 1",
            (group_key,),
        )
        return float(rows[0][0]) if rows else None

    async def save_digest(
        self, digest: DigestRecord, members: list[str], now: float, *, started: float
    ) -> None:
        ref = to_json({"action": "grouped", "digest": digest.id, **digest.ref})
        among, args = self.dialect.among("id", members, "text")
        await self._transaction(
            [
                Step(
                    f"INSERT INTO digests ({DIGEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET ref = excluded.ref, "
                    "entries = excluded.entries, updated_at = excluded.updated_at",
                    digest_values(digest),
                ),
                Step(
                    "UPDATE deliveries SET state = 'sent', ref = ?, attempts = attempts + 1, "
                    f"lease_until = NULL, last_error = NULL, updated_at = ? WHERE {among}",
                    (ref, now, *args),
                ),
                Step(
                    ATTEMPT_INSERT,
                    [(member, now, "sent", None, None, now - started) for member in members],
                    many=True,
                ),
            ]
        )

    # -- reading and replay -------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        rows = await self._fetch(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return event_from_row(rows[0]) if rows else None

    async def thread_of_alias(self, alias: str) -> str | None:
        rows = await self._fetch(
            "SELECT thread_key FROM events WHERE thread_alias = ? AND thread_key IS NOT NULL "
            f"ORDER BY occurred_at DESC, {self.dialect.insertion_order} DESC LIMIT 1",
            (alias,),
        )
        return str(rows[0]["thread_key"]) if rows else None

    async def events_of(self, inbox_id: int) -> list[EventRecord]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE inbox_id = ? "
            f"ORDER BY {self.dialect.event_order}",
            (inbox_id,),
        )
        return [event_from_row(row) for row in rows]

    async def deliveries_for(self, event_prefix: str) -> list[DeliveryRecord]:
        arg: str | int
        if "/" in event_prefix:
            where, arg = "id = ?", event_prefix
        elif "." in event_prefix:
            where, arg = "event_id = ?", event_prefix
        else:
            where, arg = "inbox_id = ?", int(event_prefix)
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} ORDER BY id", (arg,)
        )
        return [delivery_from_row(row) for row in rows]

    async def deliveries_of(self, event_ids: list[str]) -> list[DeliveryRecord]:
        if not event_ids:
            return []
        among, args = self.dialect.among("event_id", event_ids, "text")
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {among} ORDER BY event_id, id",
            args,
        )
        return [delivery_from_row(row) for row in rows]

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT id, target, source, last_error AS error, updated_at AS at, "
            "'delivery' AS kind FROM deliveries WHERE state = 'dead' "
            "UNION ALL SELECT CAST(id AS TEXT), source, source, error, received_at, 'inbox' "
            "FROM inbox WHERE state = 'dead' ORDER BY at DESC LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

    async def requeue_delivery(self, delivery_id: str, now: float) -> bool:
        changed = await self._transaction(
            [
                Step(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                    "lease_until = NULL, created_at = ?, updated_at = ? WHERE id = ?",
                    (now, now, now, delivery_id),
                )
            ],
            wakes="outbox",
        )
        return changed > 0

    async def requeue_inbox(self, inbox_id: int, now: float) -> bool:
        changed = await self._transaction(
            [
                Step("DELETE FROM deliveries WHERE inbox_id = ?", (inbox_id,)),
                Step("DELETE FROM events WHERE inbox_id = ?", (inbox_id,)),
                Step(
                    "UPDATE inbox SET state = 'new', attempts = 0, lease_until = NULL, "
                    "error = NULL WHERE id = ?",
                    (inbox_id,),
                ),
            ],
            wakes="inbox",
        )
        return changed > 0

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT 'deliveries_' || state AS name, count(*) AS n FROM deliveries GROUP BY state "
            "UNION ALL SELECT 'inbox_' || state, count(*) FROM inbox GROUP BY state"
        )
        return {row["name"]: int(row["n"]) for row in rows}

    async def activity(self, wanted: ActivityFilter) -> list[Activity]:
        rows = await self._fetch(self._activity, activity_args(wanted))
        return [activity_from_row(row) for row in rows]

    async def backlog(self) -> Backlog:
        row = (await self._fetch(BACKLOG))[0]
        oldest = [t for t in (row["inbox_oldest"], row["outbox_oldest"]) if t is not None]
        return Backlog(
            inbox_pending=row["inbox_pending"],
            deliveries_pending=row["deliveries_pending"],
            oldest_pending_at=min(oldest) if oldest else None,
            dead_deliveries=row["dead_deliveries"],
            dead_requests=row["dead_requests"],
        )

    async def enqueue(self, deliveries: list[DeliveryRecord], now: float) -> None:
        before, after = self.dialect.insert_or_ignore
        marks = ", ".join("?" * (DELIVERY_COLUMNS.count(",") + 1))
        await self._transaction(
            [
                Step(
                    f"{before} INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, next_attempt_at, "
                    f"updated_at) VALUES ({marks}, 0, ?, ?){after}",
                    [(*delivery_values(d), max(now, d.not_before), now) for d in deliveries],
                    many=True,
                )
            ],
            wakes="outbox",
        )

    # -- mutes and reroutes ---------------------------------------------------

    async def add_mute(self, mute: MuteRecord) -> int:
        rows = await self._write_fetch(
            "INSERT INTO mutes (selector, platform, channel, channel_name, everywhere, threads, "
            "reason, creator, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                to_json(mute.selector),
                mute.platform,
                mute.channel,
                mute.channel_name,
                mute.everywhere,
                to_json(mute.threads),
                mute.reason,
                mute.creator,
                mute.created_at,
                mute.expires_at,
            ),
        )
        return int(rows[0]["id"])

    async def add_reroute(self, reroute: RerouteRecord) -> int:
        rows = await self._write_fetch(
            "INSERT INTO reroutes (selector, target, platform, address, label, creator, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                to_json(reroute.selector),
                reroute.target,
                reroute.platform,
                reroute.address,
                reroute.label,
                reroute.creator,
                reroute.created_at,
                reroute.expires_at,
            ),
        )
        return int(rows[0]["id"])

    async def get_mute(self, mute_id: int) -> MuteRecord | None:
        rows = await self._fetch(f"SELECT {MUTE_COLUMNS} FROM mutes WHERE id = ?", (mute_id,))
        return mute_from_row(rows[0]) if rows else None

    async def get_reroute(self, reroute_id: int) -> RerouteRecord | None:
        rows = await self._fetch(
            f"SELECT {REROUTE_COLUMNS} FROM reroutes WHERE id = ?", (reroute_id,)
        )
        return reroute_from_row(rows[0]) if rows else None

    async def live_mutes(self) -> list[MuteRecord]:
        rows = await self._fetch(
            f"SELECT {MUTE_COLUMNS} FROM mutes WHERE ended_at IS NULL ORDER BY id"
        )
        return [mute_from_row(row) for row in rows]

    async def live_reroutes(self) -> list[RerouteRecord]:
        rows = await self._fetch(
            f"SELECT {REROUTE_COLUMNS} FROM reroutes WHERE ended_at IS NULL ORDER BY id"
        )
        return [reroute_from_row(row) for row in rows]

    async def end_mute(self, mute_id: int, now: float, by: str, reason: str) -> MuteRecord | None:
        # Concurrent enders queue (for the row lock, or SQLite's one writer); the re-checked
        # ``ended_at IS NULL`` lets exactly one of them through.
        rows = await self._write_fetch(
            "UPDATE mutes SET ended_at = ?, ended_by = ?, end_reason = ? "
            f"WHERE id = ? AND ended_at IS NULL RETURNING {MUTE_COLUMNS}",
            (now, by, reason, mute_id),
        )
        return mute_from_row(rows[0]) if rows else None

    async def end_reroute(self, reroute_id: int, now: float, by: str) -> RerouteRecord | None:
        rows = await self._write_fetch(
            "UPDATE reroutes SET ended_at = ?, ended_by = ? "
            f"WHERE id = ? AND ended_at IS NULL RETURNING {REROUTE_COLUMNS}",
            (now, by, reroute_id),
        )
        return reroute_from_row(rows[0]) if rows else None

    async def suppressed_by(self, mute_id: int) -> list[DeliveryRecord]:
        columns = ", ".join(f"d.{c.strip()}" for c in DELIVERY_COLUMNS.split(","))
        rows = await self._fetch(
            f"SELECT {columns} FROM suppressions s JOIN deliveries d ON d.id = s.delivery_id "
            "WHERE s.mute_id = ? ORDER BY d.created_at, d.id",
            (mute_id,),
        )
        return [delivery_from_row(row) for row in rows]

    async def open_threads(self, since: float) -> list[EventRecord]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM ({self._latest_in_thread} AND created_at >= ?) "
            "latest WHERE newest = 1 AND status IN ('open', 'acknowledged') ORDER BY created_at",
            (since,),
        )
        return [event_from_row(row) for row in rows]

    async def thread_states(self, thread_keys: list[str]) -> dict[str, str | None]:
        if not thread_keys:  # asked for every request normalized: skip the round trip
            return {}
        among, args = self.dialect.among("thread_key", thread_keys, "text")
        rows = await self._fetch(
            f"SELECT thread_key, status FROM ({self._latest_in_thread} AND {among}) latest "
            "WHERE newest = 1",
            args,
        )
        return {row["thread_key"]: row["status"] for row in rows}

    # -- actions --------------------------------------------------------------

    async def start_action(self, action: ActionRecord) -> int | None:
        marks = ", ".join("?" * (ACTION_COLUMNS.count(",") + 1))
        rows = await self._write_fetch(
            f"INSERT INTO actions ({ACTION_COLUMNS}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            action_values(action),
        )
        return int(rows[0]["id"]) if rows else None

    async def finish_action(
        self, action_id: int, outcome: str, answer: str, detail: dict[str, Any], now: float
    ) -> None:
        keep = outcome == "ok"
        await self._execute(
            "UPDATE actions SET outcome = ?, answer = ?, detail = ?, finished_at = ?, "
            f"dedup_key = {'dedup_key' if keep else 'NULL'} WHERE id = ?",
            (outcome, answer, to_json(detail), now, action_id),
        )

    async def actions_of(self, target: str, thread_key: str) -> list[ActionRecord]:
        rows = await self._fetch(
            f"SELECT {ACTION_COLUMNS}, id FROM actions WHERE target = ? AND thread_key = ? "
            "ORDER BY id",
            (target, thread_key),
        )
        return [action_from_row(row) for row in rows]

    async def recent_actions(self, limit: int = 50) -> list[ActionRecord]:
        rows = await self._fetch(
            f"SELECT {ACTION_COLUMNS}, id FROM actions ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [action_from_row(row) for row in rows]

    async def clickers(self) -> list[tuple[str, str, str]]:
        rows = await self._fetch(
            "SELECT platform, user_id, max(user_name) AS user_name, min(id) AS first "
            "FROM actions GROUP BY platform, user_id ORDER BY first"
        )
        return [(row["platform"], row["user_id"], row["user_name"]) for row in rows]

    async def latest_message(self, target: str, thread_key: str) -> DeliveryRecord | None:
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE target = ? AND thread_key = ? "
            "AND state = 'sent' ORDER BY updated_at DESC LIMIT 20",
            (target, thread_key),
        )
        shown = (d for d in map(delivery_from_row, rows) if d.ref.get("action") != "skipped")
        return next(shown, None)

    # -- heartbeats -----------------------------------------------------------

    async def heartbeats(self) -> list[HeartbeatRecord]:
        rows = await self._fetch(
            "SELECT source, watched_since, last_at, alarm_at FROM heartbeats ORDER BY source"
        )
        return [HeartbeatRecord(**dict(row)) for row in rows]

    async def watch_source(self, source: str, now: float) -> None:
        await self._execute(
            "INSERT INTO heartbeats (source, watched_since) VALUES (?, ?) "
            "ON CONFLICT (source) DO NOTHING",
            (source, now),
        )

    async def beat(self, source: str, at: float) -> None:
        await self._execute(
            "INSERT INTO heartbeats (source, watched_since, last_at) VALUES (?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET last_at = excluded.last_at "
            "WHERE heartbeats.last_at IS NULL OR heartbeats.last_at < excluded.last_at",
            (source, at, at),
        )

    async def raise_alarm(
        self, source: str, silent_since: float, now: float, alarm: DeliveryRecord
    ) -> bool:
        # Both conditions are re-checked under the row's write lock: a peer that raised it
        # first, or an event heard meanwhile, leaves nothing to raise. The alarm's message
        # is queued in the same transaction, by the same condition read after the update:
        # a crash cannot raise an alarm nobody is told of.
        changed = await self._transaction(
            [
                Step(
                    "UPDATE heartbeats SET alarm_at = ? WHERE source = ? AND alarm_at IS NULL "
                    "AND coalesce(last_at, watched_since) = ?",
                    (now, source, silent_since),
                ),
                self._queue_if(alarm, now, "source = ? AND alarm_at = ?", (source, now)),
            ],
            wakes="outbox",
        )
        return changed == 1

    async def clear_alarm(
        self, source: str, alarm_at: float, recovery: DeliveryRecord, now: float
    ) -> bool:
        # The recovery's id is made of the alarm's time, so a peer that ended the same
        # alarm first has queued this very row: ours is then skipped, and says so.
        changed = await self._transaction(
            [
                Step(
                    "UPDATE heartbeats SET alarm_at = NULL WHERE source = ? AND alarm_at = ?",
                    (source, alarm_at),
                ),
                self._queue_if(recovery, now, "source = ? AND alarm_at IS NULL", (source,)),
            ],
            wakes="outbox",
        )
        return changed == 1

    def _queue_if(
        self, delivery: DeliveryRecord, now: float, condition: str, args: Sequence[Any]
    ) -> Step:
        """Queue ``delivery`` (as ``enqueue`` does) if a heartbeat row meets ``condition``."""
        before, after = self.dialect.insert_or_ignore
        marks = ", ".join("?" * (DELIVERY_COLUMNS.count(",") + 1))
        return Step(
            f"{before} INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, next_attempt_at, "
            f"updated_at) SELECT {marks}, 0, ?, ? FROM heartbeats WHERE {condition}{after}",
            (*delivery_values(delivery), max(now, delivery.not_before), now, *args),
        )
