"""The embedded store: one SQLite file in WAL mode.

One writer thread owns the write connection and commits in groups: callers hand the
writer an operation (a plain function of the connection) and await a future that
resolves only after COMMIT. Each operation runs inside its own SAVEPOINT, so one failing
request never rolls back another's insert (one connection has one transaction, shared by
everything that writes through it). An operation of a single statement needs none:
SQLite undoes a failed statement by itself. The webhooks waiting for one commit are
inserted together (``sqlite_intake``). Reads use a second connection.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from bot.core.clock import Clock
from bot.core.errors import StoreUnavailable
from bot.core.pacing import LanePacer, Pacer
from bot.store.records import (
    Activity,
    ActivityFilter,
    AttemptRecord,
    Backlog,
    ConversationRecord,
    DeliveryRecord,
    DigestRecord,
    EventRecord,
    InboxItem,
    MuteRecord,
    RerouteRecord,
)
from bot.store.rows import (
    ATTEMPT_COLUMNS,
    CONVERSATION_COLUMNS,
    DELIVERY_COLUMNS,
    DIGEST_COLUMNS,
    EVENT_COLUMNS,
    MUTE_COLUMNS,
    REROUTE_COLUMNS,
    activity_args,
    activity_from_row,
    activity_query,
    conversation_from_row,
    conversation_values,
    delivery_from_row,
    delivery_values,
    digest_from_row,
    digest_values,
    event_from_row,
    event_values,
    inbox_from_row,
    mute_from_row,
    reroute_from_row,
)
from bot.store.sqlite.bodies import unpack
from bot.store.sqlite.intake import IntakeBatcher

log = logging.getLogger("bot.store")

_SCHEMA = (Path(__file__).with_name("schema.sql")).read_text(encoding="utf-8")

_INBOX_ROWS = (
    "SELECT inbox.id, source, delivery_id, received_at, headers, body, codec, attempts "
    "FROM inbox JOIN inbox_bodies ON inbox_bodies.id = inbox.id"
)
"""Requests as ``_inbox_item`` reads them: the body lives in a table of its own."""

WriteOp = Callable[[sqlite3.Connection], Any]
"""Runs on the writer thread inside the batch's transaction (plain ``def``, no awaits)."""

MAX_BATCH = 256

_CONVERSATION_UPSERT = (
    f"INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (target, thread_key) DO UPDATE SET ref = excluded.ref, "
    "status = excluded.status, latest_at = excluded.latest_at, ended = excluded.ended, "
    "started_by = excluded.started_by, updated_at = excluded.updated_at"
)

_LATEST_IN_THREAD = (
    "SELECT *, row_number() OVER (PARTITION BY thread_key ORDER BY created_at DESC, "
    "rowid DESC) AS newest FROM events WHERE thread_key IS NOT NULL"
)


Settle = Callable[[Any, BaseException | None], None]
"""Told an operation's result or error on the event loop, right after its commit."""


class _GroupCommitWriter:
    """Serializes writes and commits them in batches; see the module docstring.

    A batch is one hop to the writer thread: BEGIN, every operation, COMMIT, then one
    hop back, whose callback settles every caller and hands the writer the operations
    queued meanwhile. Per-statement hops would cost a thread switch and an event-loop
    wakeup each, which is what limited intake before; and under load each extra step
    on the way back (a task waking to settle the callers, a future chained to another)
    waits for a whole pass of the event loop, about a millisecond with 64 webhooks in
    flight.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._thread = thread
        self._loop = asyncio.get_running_loop()
        self._queued: list[tuple[WriteOp, bool, Settle]] = []
        self._busy = False  # a batch is committing, or about to start
        self._idle: asyncio.Future[None] | None = None

    async def submit(self, op: WriteOp, *, fails_whole: bool = False) -> Any:
        future: asyncio.Future[Any] = self._loop.create_future()
        self.enqueue(op, partial(_settle_future, future), fails_whole=fails_whole)
        return await future

    def enqueue(self, op: WriteOp, settle: Settle, *, fails_whole: bool = False) -> None:
        """Queue ``op`` for the next commit; ``settle`` hears how it went once durable.

        ``fails_whole``: ``op`` needs no SAVEPOINT of its own, because none of its
        statements can fail while leaving the others' changes behind (it is one
        statement, or each resolves its conflicts itself and an error such as a full
        disk ends the whole transaction), or because what a failure leaves behind is
        what the retry writes anyway. Two statements fewer per operation, each a wait
        for the GIL on the writer thread.
        """
        self._queued.append((op, fails_whole, settle))
        if not self._busy:
            self._busy = True
            self._loop.call_soon(self._start)  # what the rest of this pass queues joins in

    async def close(self) -> None:
        """Returns once everything queued is committed and settled."""
        while self._busy:
            self._idle = self._loop.create_future()
            await self._idle

    def _start(self) -> None:
        batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
        if not batch:
            self._busy = False
            if self._idle is not None and not self._idle.done():
                self._idle.set_result(None)
            return
        try:
            self._thread.submit(self._commit_and_report, batch)
        except RuntimeError as exc:  # the thread is shut down: nothing can be written
            self._finish(batch, [(None, exc)] * len(batch))

    def _commit_and_report(self, batch: list[tuple[WriteOp, bool, Settle]]) -> None:
        """On the writer thread."""
        try:
            outcomes = self._commit([(op, fails_whole) for op, fails_whole, _ in batch])
        except Exception as exc:  # BEGIN or COMMIT failed: nothing of the batch is durable
            outcomes = [(None, exc)] * len(batch)
        self._loop.call_soon_threadsafe(self._finish, batch, outcomes)

    def _finish(
        self,
        batch: list[tuple[WriteOp, bool, Settle]],
        outcomes: list[tuple[Any, BaseException | None]],
    ) -> None:
        self._start()  # the writer starts on the next batch while this one is settled
        for (_, _, settle), (result, error) in zip(batch, outcomes, strict=True):
            settle(result, error)

    def _commit(self, ops: list[tuple[WriteOp, bool]]) -> list[tuple[Any, BaseException | None]]:
        """Runs on the writer thread. One operation's failure is its caller's alone."""
        conn = self._conn
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            shared = len(ops) > 1
            for op, fails_whole in ops:
                isolate = shared and not fails_whole
                if isolate:
                    conn.execute("SAVEPOINT op")
                try:
                    result = _synchronous(op(conn))
                except Exception as exc:
                    if isolate:
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                    elif not shared:
                        conn.execute("ROLLBACK")
                        conn.execute("BEGIN IMMEDIATE")
                    elif not conn.in_transaction:  # the error ended the whole transaction
                        raise
                    outcomes.append((None, exc))
                    continue
                if isolate:
                    conn.execute("RELEASE op")
                outcomes.append((result, None))
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes


def _settle_future(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller gave up; the write happened all the same
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _synchronous(result: Any) -> Any:
    """Refuse an ``async def`` operation loudly: it would never run (and never write)."""
    if inspect.iscoroutine(result):
        result.close()
        raise TypeError("a write operation runs on the writer thread: define it with def")
    return result


_PURGEABLE_REQUESTS = (
    "SELECT id FROM inbox WHERE received_at < ? AND state != 'new' AND NOT EXISTS ("
    "SELECT 1 FROM deliveries d WHERE d.inbox_id = inbox.id "
    "AND (d.state = 'pending' OR (d.state = 'dead' AND d.updated_at >= ?)))"
)
"""Requests older than the cut whose every delivery is done with (a dead letter once it
has been dead since the cut); the parameters are the cut, twice."""
_PURGEABLE_LOOSE_DELIVERIES = (
    "SELECT id FROM deliveries WHERE inbox_id = 0 AND state != 'pending' "
    "AND updated_at < ? AND created_at < ?"
)
"""Outbox rows of no request (notices, announcements) done with before the cut."""


class SQLiteStore:
    """The ``Store`` for one process and one file (see DESIGN: where SQLite is right)."""

    def __init__(
        self,
        path: str,
        writer_conn: sqlite3.Connection,
        writer_thread: ThreadPoolExecutor,
        reader: aiosqlite.Connection,
    ) -> None:
        self.path = path
        self._writer_conn = writer_conn
        self._writer_thread = writer_thread
        self._writer = _GroupCommitWriter(writer_conn, writer_thread)
        self._intake = IntakeBatcher(partial(self._writer.enqueue, fails_whole=True))
        self._reader = reader

    @classmethod
    async def open(cls, path: str, *, synchronous: str = "normal") -> SQLiteStore:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        level = "FULL" if synchronous == "full" else "NORMAL"
        loop = asyncio.get_running_loop()
        try:
            writer = await loop.run_in_executor(thread, _open_writer, path, level)
        except sqlite3.Error as exc:  # a missing folder, no write permission, a directory
            thread.shutdown()
            raise StoreUnavailable(
                f"cannot open the SQLite store {path!r}: {exc} (check [store] url or "
                "DATABASE_URL: the folder must exist and be writable)"
            ) from None
        reader = await aiosqlite.connect(path, isolation_level=None)
        await reader.execute("PRAGMA busy_timeout=5000")
        reader.row_factory = aiosqlite.Row
        return cls(path, writer, thread, reader)

    async def close(self) -> None:
        await self._writer.close()
        await asyncio.get_running_loop().run_in_executor(
            self._writer_thread, self._writer_conn.close
        )
        self._writer_thread.shutdown()
        await self._reader.close()

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def recover(self) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE inbox SET lease_until = NULL WHERE state = 'new'")
            conn.execute("UPDATE deliveries SET lease_until = NULL WHERE state = 'pending'")

        await self._writer.submit(op)

    async def watch(self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]) -> None:
        return None

    def lane_pacer(self, clock: Clock) -> LanePacer:
        return Pacer(clock=clock)

    # -- intake ---------------------------------------------------------------

    async def accept(
        self, source: str, delivery_id: str, headers: dict[str, str], body: bytes, now: float
    ) -> tuple[int, bool]:
        return await self._intake.accept(
            (source, delivery_id, now, orjson.dumps(headers).decode(), body)
        )

    async def count_rejection(self, source: str, reason: str, now: float) -> None:
        await self._execute(
            "INSERT INTO rejections (source, reason, count, last_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (source, reason) DO UPDATE SET count = count + 1, last_at = ?",
            (source, reason, now, now),
        )

    async def rejections(self) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT source, reason, count, last_at FROM rejections ORDER BY last_at DESC"
        )
        return [dict(row) for row in rows]

    # -- normalize stage ----------------------------------------------------

    async def claim_inbox(self, limit: int, now: float, lease: float) -> list[InboxItem]:
        def op(conn: sqlite3.Connection) -> list[Any]:
            claimed = [
                row[0]
                for row in conn.execute(
                    "UPDATE inbox SET lease_until = ?, attempts = attempts + 1 WHERE id IN ("
                    "SELECT id FROM inbox WHERE state = 'new' AND "
                    "(lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?) RETURNING id",
                    (now + lease, now, limit),
                )
            ]
            if not claimed:
                return []
            cursor = conn.cursor()
            cursor.row_factory = sqlite3.Row
            marks = ", ".join("?" * len(claimed))
            return cursor.execute(
                f"{_INBOX_ROWS} WHERE inbox.id IN ({marks}) ORDER BY inbox.id", claimed
            ).fetchall()

        rows: list[Any] = await self._writer.submit(op)
        return [_inbox_item(row) for row in rows]

    async def record_outcome(
        self,
        inbox_id: int,
        events: list[EventRecord],
        deliveries: list[DeliveryRecord],
        now: float,
    ) -> None:
        # Built before the first statement, so no Python error stops the write halfway.
        # It needs no SAVEPOINT: every insert ignores what is there already, so what a
        # failed write (a full disk) leaves behind is what its retry writes anyway.
        event_rows = [(*event_values(e), now) for e in events]
        delivery_rows = [
            (*delivery_values(d), inbox_id, max(now, d.not_before), now) for d in deliveries
        ]
        suppressed = [(d.muted_by, d.id) for d in deliveries if d.muted_by is not None]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                event_rows,
            )
            conn.executemany(
                f"INSERT OR IGNORE INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, "
                "next_attempt_at, updated_at) "
                f"VALUES ({', '.join('?' * (DELIVERY_COLUMNS.count(',') + 4))})",
                delivery_rows,
            )
            if suppressed:
                conn.executemany(
                    "INSERT OR IGNORE INTO suppressions (mute_id, delivery_id) VALUES (?, ?)",
                    suppressed,
                )
            conn.execute(
                "UPDATE inbox SET state = ?, lease_until = NULL, error = NULL WHERE id = ?",
                ("done" if events else "ignored", inbox_id),
            )

        await self._writer.submit(op, fails_whole=True)

    async def fail_inbox(self, inbox_id: int, error: str, now: float) -> None:
        await self._execute(
            "UPDATE inbox SET state = 'dead', lease_until = NULL, error = ? WHERE id = ?",
            (error, inbox_id),
        )

    # -- deliver stage ------------------------------------------------------

    async def claim_deliveries(self, limit: int, now: float, lease: float) -> list[DeliveryRecord]:
        rows = await self._write_fetch(
            "UPDATE deliveries SET lease_until = ? WHERE id IN ("
            "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ?) "
            f"RETURNING {DELIVERY_COLUMNS}",
            (now + lease, now, now, limit),
        )
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.created_at, d.id))

    async def renew_leases(self, delivery_ids: list[str], until: float) -> None:
        if delivery_ids:
            await self._execute(
                f"UPDATE deliveries SET lease_until = ? WHERE state = 'pending' "
                f"AND id IN ({', '.join('?' * len(delivery_ids))})",
                (until, *delivery_ids),
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
        also = []
        if conversation is not None:
            also.append((_CONVERSATION_UPSERT, conversation_values(conversation, now)))
        await self._attempted(
            "UPDATE deliveries SET state = 'sent', ref = ?, attempts = attempts + 1, "
            "lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
            (json.dumps(ref), now, delivery_id),
            AttemptRecord(delivery_id, now, "sent", http_status, None, now - started),
            also,
        )

    async def take_group(
        self, group_key: str, held: list[str], now: float, lease: float
    ) -> list[DeliveryRecord]:
        rows = await self._write_fetch(
            "UPDATE deliveries SET lease_until = ? WHERE group_key = ? AND state = 'pending' "
            "AND (lease_until IS NULL OR lease_until < ? "
            f"OR id IN ({', '.join('?' * len(held)) or 'NULL'})) RETURNING {DELIVERY_COLUMNS}",
            (now + lease, group_key, now, *held),
        )
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.created_at, d.id))

    async def latest_digest(self, group_key: str) -> DigestRecord | None:
        rows = await self._fetch(
            f"SELECT {DIGEST_COLUMNS} FROM digests WHERE group_key = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (group_key,),
        )
        return digest_from_row(rows[0]) if rows else None

    async def save_digest(
        self, digest: DigestRecord, members: list[str], now: float, *, started: float
    ) -> None:
        ref = json.dumps({"action": "grouped", "digest": digest.id, **digest.ref})

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO digests ({DIGEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET ref = excluded.ref, "
                "entries = excluded.entries, updated_at = excluded.updated_at",
                digest_values(digest),
            )
            conn.executemany(
                "UPDATE deliveries SET state = 'sent', ref = ?, attempts = attempts + 1, "
                "lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
                [(ref, now, member) for member in members],
            )
            conn.executemany(
                f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                [(member, now, "sent", None, None, now - started) for member in members],
            )

        await self._writer.submit(op)

    async def get_conversation(self, target: str, thread_key: str) -> ConversationRecord | None:
        rows = await self._fetch(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE target = ? AND thread_key = ?",
            (target, thread_key),
        )
        return conversation_from_row(rows[0]) if rows else None

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
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
            (error, next_attempt_at, now, delivery_id),
            AttemptRecord(delivery_id, now, "retry", http_status, error, now - started),
        )

    async def defer(self, delivery_id: str, until: float) -> None:
        await self._execute(
            "UPDATE deliveries SET next_attempt_at = ?, lease_until = NULL WHERE id = ?",
            (until, delivery_id),
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
            "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?, "
            "lease_until = NULL, updated_at = ? WHERE id = ?",
            (error, now, delivery_id),
            AttemptRecord(delivery_id, now, "dead", http_status, error, now - started),
        )

    async def _attempted(
        self,
        sql: str,
        args: tuple[Any, ...],
        attempt: AttemptRecord,
        also: Iterable[tuple[str, tuple[Any, ...]]] = (),
    ) -> None:
        """A delivery's new state and the attempt that led to it (and ``also`` any statements
        that belong with them), in one write."""

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(sql, args)
            for statement, values in also:
                conn.execute(statement, values)
            conn.execute(
                f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    attempt.delivery_id,
                    attempt.at,
                    attempt.outcome,
                    attempt.http_status,
                    attempt.error,
                    attempt.duration,
                ),
            )

        await self._writer.submit(op)

    async def attempts_of(self, delivery_ids: list[str]) -> list[AttemptRecord]:
        if not delivery_ids:
            return []
        rows = await self._fetch(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts "
            f"WHERE delivery_id IN ({', '.join('?' * len(delivery_ids))}) ORDER BY at, rowid",
            delivery_ids,
        )
        return [AttemptRecord(**dict(row)) for row in rows]

    # -- reading and replay -------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        rows = await self._fetch(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return event_from_row(rows[0]) if rows else None

    async def events_of(self, inbox_id: int) -> list[EventRecord]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE inbox_id = ? ORDER BY id", (inbox_id,)
        )
        return [event_from_row(row) for row in rows]

    async def get_inbox(self, inbox_id: int) -> InboxItem | None:
        rows = await self._fetch(f"{_INBOX_ROWS} WHERE inbox.id = ?", (inbox_id,))
        return _inbox_item(rows[0]) if rows else None

    async def inbox_state(self, inbox_id: int) -> tuple[str, str | None] | None:
        rows = await self._fetch("SELECT state, error FROM inbox WHERE id = ?", (inbox_id,))
        return (rows[0]["state"], rows[0]["error"]) if rows else None

    async def deliveries_for(self, event_prefix: str) -> list[DeliveryRecord]:
        args: tuple[str | int, ...]
        if "/" in event_prefix:
            where, args = "id = ?", (event_prefix,)
        elif "." in event_prefix:
            where, args = "event_id = ?", (event_prefix,)
        else:
            where, args = "inbox_id = ?", (int(event_prefix),)
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} ORDER BY id", args
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
        changed: int = await self._execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, "
            "lease_until = NULL, created_at = ?, updated_at = ? WHERE id = ?",
            (now, now, now, delivery_id),
        )
        return changed > 0

    async def requeue_inbox(self, inbox_id: int, now: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM deliveries WHERE inbox_id = ?", (inbox_id,))
            conn.execute("DELETE FROM events WHERE inbox_id = ?", (inbox_id,))
            cursor = conn.execute(
                "UPDATE inbox SET state = 'new', attempts = 0, lease_until = NULL, error = NULL "
                "WHERE id = ?",
                (inbox_id,),
            )
            return cursor.rowcount > 0

        result: bool = await self._writer.submit(op)
        return result

    async def purge(self, before: float, limit: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            requests = [
                row[0]
                for row in conn.execute(
                    f"{_PURGEABLE_REQUESTS} ORDER BY id LIMIT ?", (before, before, limit)
                )
            ]
            loose = [
                row[0]
                for row in conn.execute(
                    f"{_PURGEABLE_LOOSE_DELIVERIES} LIMIT ?", (before, before, limit)
                )
            ]
            marks = ", ".join("?" * len(requests))
            deliveries = loose + [
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM deliveries WHERE inbox_id IN ({marks})", requests
                )
            ]
            for start in range(0, len(deliveries), 500):  # SQLite caps the parameters
                chunk = deliveries[start : start + 500]
                chunk_marks = ", ".join("?" * len(chunk))
                for table in ("attempts", "suppressions"):
                    conn.execute(f"DELETE FROM {table} WHERE delivery_id IN ({chunk_marks})", chunk)
                conn.execute(f"DELETE FROM deliveries WHERE id IN ({chunk_marks})", chunk)
            conn.execute(f"DELETE FROM events WHERE inbox_id IN ({marks})", requests)
            for table in ("inbox", "inbox_bodies"):
                conn.execute(f"DELETE FROM {table} WHERE id IN ({marks})", requests)
            conn.execute("DELETE FROM digests WHERE updated_at < ?", (before,))
            conn.execute("DELETE FROM conversations WHERE updated_at < ?", (before,))
            return len(requests) + len(loose)

        purged: int = await self._writer.submit(op)
        return purged

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT 'deliveries_' || state AS name, count(*) AS n FROM deliveries GROUP BY state "
            "UNION ALL SELECT 'inbox_' || state, count(*) FROM inbox GROUP BY state"
        )
        return {row["name"]: int(row["n"]) for row in rows}

    async def activity(self, wanted: ActivityFilter) -> list[Activity]:
        rows = await self._fetch(activity_query(lambda n: f"?{n}"), activity_args(wanted))
        return [activity_from_row(row) for row in rows]

    async def deliveries_of(self, event_ids: list[str]) -> list[DeliveryRecord]:
        if not event_ids:
            return []
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries "
            f"WHERE event_id IN ({', '.join('?' * len(event_ids))}) ORDER BY event_id, id",
            event_ids,
        )
        return [delivery_from_row(row) for row in rows]

    async def backlog(self) -> Backlog:
        # Each count reads a partial index, so a scrape costs the size of the backlog,
        # not of the history kept for retention_days.
        rows = await self._fetch(
            "SELECT (SELECT count(*) FROM inbox WHERE state = 'new') AS inbox_pending, "
            "(SELECT received_at FROM inbox WHERE state = 'new' ORDER BY id LIMIT 1) "
            "AS inbox_oldest, "
            "(SELECT count(*) FROM deliveries WHERE state = 'pending') AS deliveries_pending, "
            "(SELECT min(created_at) FROM deliveries WHERE state = 'pending') AS outbox_oldest, "
            "(SELECT count(*) FROM deliveries WHERE state = 'dead') AS dead_deliveries, "
            "(SELECT count(*) FROM inbox WHERE state = 'dead') AS dead_requests"
        )
        row = rows[0]
        oldest = [t for t in (row["inbox_oldest"], row["outbox_oldest"]) if t is not None]
        return Backlog(
            inbox_pending=row["inbox_pending"],
            deliveries_pending=row["deliveries_pending"],
            oldest_pending_at=min(oldest) if oldest else None,
            dead_deliveries=row["dead_deliveries"],
            dead_requests=row["dead_requests"],
        )

    async def enqueue(self, deliveries: list[DeliveryRecord], now: float) -> None:
        await self._executemany(
            f"INSERT OR IGNORE INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, "
            "next_attempt_at, updated_at) "
            f"VALUES ({', '.join('?' * (DELIVERY_COLUMNS.count(',') + 1))}, 0, ?, ?)",
            [(*delivery_values(d), max(now, d.not_before), now) for d in deliveries],
        )

    # -- mutes and reroutes ---------------------------------------------------

    async def add_mute(self, mute: MuteRecord) -> int:
        rows = await self._write_fetch(
            "INSERT INTO mutes (selector, platform, channel, channel_name, everywhere, threads, "
            "reason, creator, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                json.dumps(mute.selector),
                mute.platform,
                mute.channel,
                mute.channel_name,
                int(mute.everywhere),
                json.dumps(mute.threads),
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
                json.dumps(reroute.selector),
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
            f"SELECT {EVENT_COLUMNS} FROM ({_LATEST_IN_THREAD} AND created_at >= ?) "
            "WHERE newest = 1 AND status IN ('open', 'acknowledged') ORDER BY created_at",
            (since,),
        )
        return [event_from_row(row) for row in rows]

    async def thread_states(self, thread_keys: list[str]) -> dict[str, str | None]:
        if not thread_keys:
            return {}
        marks = ", ".join("?" * len(thread_keys))
        rows = await self._fetch(
            f"SELECT thread_key, status FROM ({_LATEST_IN_THREAD} AND thread_key IN ({marks})) "
            "WHERE newest = 1",
            thread_keys,
        )
        return {row["thread_key"]: row["status"] for row in rows}

    # -- plumbing -------------------------------------------------------------

    async def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, rows)

        await self._writer.submit(op)

    async def _execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(sql, tuple(args)).rowcount

        # One statement: SQLite undoes a failed statement's changes itself.
        result: int = await self._writer.submit(op, fails_whole=True)
        return result

    async def _write_fetch(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        def op(conn: sqlite3.Connection) -> list[Any]:
            cursor = conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, tuple(args)).fetchall()

        result: list[Any] = await self._writer.submit(op, fails_whole=True)  # one statement
        return result

    async def _fetch(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        cursor = await self._reader.execute(sql, tuple(args))
        return list(await cursor.fetchall())


def _inbox_item(row: sqlite3.Row) -> InboxItem:
    return inbox_from_row(row, unpack(bytes(row["body"]), row["codec"]))


def _open_writer(path: str, synchronous: str) -> sqlite3.Connection:
    """Runs on the writer thread, which owns this connection from then on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(_SCHEMA)
    _upgrade_layout(conn)
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _upgrade_layout(conn: sqlite3.Connection) -> None:
    """A store written by an earlier release: bodies kept in the request rows (moved to
    ``inbox_bodies``), or an ``inbox_bodies`` from before compression (given a ``codec``
    column, NULL for the bodies already there: they stay as they are)."""
    conn.execute("BEGIN IMMEDIATE")  # another process opening the file waits, then sees it done
    moved = None
    try:
        if "codec" not in _columns(conn, "inbox_bodies"):
            conn.execute("ALTER TABLE inbox_bodies ADD COLUMN codec TEXT")
        if "body" in _columns(conn, "inbox"):
            moved = conn.execute(
                "INSERT INTO inbox_bodies (id, body) SELECT id, body FROM inbox"
            ).rowcount
            conn.execute("ALTER TABLE inbox DROP COLUMN body")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if moved is not None:
        log.info("moved request bodies to their own table", extra={"requests": moved})
