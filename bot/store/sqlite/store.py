"""The embedded store: one SQLite file in WAL mode.

Writes go through one writer thread that commits in groups (``writer``); the webhooks
waiting for one commit are inserted together (``intake``). Reads use a second
connection. The SQL shared with PostgreSQL is in ``bot.store.sql``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import aiosqlite
import orjson

from bot.core.clock import Clock
from bot.core.errors import StoreUnavailable
from bot.core.pacing import LanePacer, Pacer
from bot.store.migrations import Migrated
from bot.store.records import DeliveryRecord, EventRecord, InboxItem
from bot.store.rows import (
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    body_digest,
    delivery_values,
    event_values,
    inbox_from_row,
)
from bot.store.sql import (
    PURGEABLE_LOOSE_DELIVERIES,
    PURGEABLE_REQUESTS,
    Dialect,
    Queue,
    SQLStore,
    Step,
)
from bot.store.sqlite.bodies import unpack
from bot.store.sqlite.intake import IntakeBatcher
from bot.store.sqlite.migrations import migrate
from bot.store.sqlite.writer import GroupCommitWriter

_INBOX_ROWS = (
    "SELECT inbox.id, source, delivery_id, received_at, headers, body, codec, attempts "
    "FROM inbox JOIN inbox_bodies ON inbox_bodies.id = inbox.id"
)
"""Requests as ``_inbox_item`` reads them: the body lives in a table of its own."""

FREE_CLAIMED_REQUESTS = (
    "UPDATE inbox SET lease_until = NULL WHERE lease_until IS NOT NULL AND state = 'new'"
)
FREE_LEASES = (
    FREE_CLAIMED_REQUESTS,
    "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL AND state = 'pending'",
)
"""What a start frees of a killed predecessor's claims (one ``serve`` uses the file). Both
find the claimed rows through an index of those alone (``inbox_leased``,
``deliveries_leased``): a million requests left by a flood, or messages waiting for a
chat that was down, are neither read nor rewritten."""

SQLITE = Dialect(
    arrays=False,
    insertion_order="rowid",
    event_order="id",
    skip_locked="",
    no_flush="",
    insert_or_ignore=("INSERT OR IGNORE", ""),
    param=lambda n, _type: f"?{n}",
)


class SQLiteStore(SQLStore):
    """The ``Store`` for one process and one file (see DESIGN: where SQLite is right)."""

    dialect = SQLITE

    def __init__(
        self,
        path: str,
        writer_conn: sqlite3.Connection,
        writer_thread: ThreadPoolExecutor,
        reader: aiosqlite.Connection,
        migrated: Migrated,
    ) -> None:
        super().__init__(migrated)
        self.path = path
        self._writer_conn = writer_conn
        self._writer_thread = writer_thread
        self._writer = GroupCommitWriter(writer_conn, writer_thread)
        self._intake = IntakeBatcher(partial(self._writer.enqueue, fails_whole=True))
        self._reader = reader

    @classmethod
    async def open(
        cls, path: str, *, synchronous: str = "normal", busy_timeout: float = 5.0
    ) -> SQLiteStore:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        level = "FULL" if synchronous == "full" else "NORMAL"
        busy_ms = round(busy_timeout * 1000)
        loop = asyncio.get_running_loop()
        try:
            writer, migrated = await loop.run_in_executor(
                thread, _open_writer, path, level, busy_ms
            )
        except sqlite3.Error as exc:  # a missing folder, no write permission, a directory
            thread.shutdown()
            raise StoreUnavailable(
                f"cannot open the SQLite store {path!r}: {exc} (check [store] url or "
                "DATABASE_URL: the folder must exist and be writable)"
            ) from None
        reader = await aiosqlite.connect(path, isolation_level=None)
        await reader.execute(f"PRAGMA busy_timeout={busy_ms}")
        reader.row_factory = aiosqlite.Row
        return cls(path, writer, thread, reader, migrated)

    async def close(self) -> None:
        await self._writer.close()
        await asyncio.get_running_loop().run_in_executor(
            self._writer_thread, self._writer_conn.close
        )
        self._writer_thread.shutdown()
        await self._reader.close()

    async def recover(self) -> None:
        def op(conn: sqlite3.Connection) -> None:
            for statement in FREE_LEASES:
                conn.execute(statement)

        await self._writer.submit(op)

    async def recover_planner(self) -> None:
        await self._writer.submit(lambda conn: conn.execute(FREE_CLAIMED_REQUESTS).rowcount)

    async def watch(self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]) -> None:
        return None

    def lane_pacer(self, clock: Clock) -> LanePacer:
        return Pacer(clock=clock)

    # -- what SQLite does its own way -----------------------------------------

    async def accept(
        self,
        source: str,
        delivery_id: str,
        headers: dict[str, str],
        body: bytes,
        now: float,
        *,
        by_body: bool = True,
    ) -> tuple[int, bool]:
        digest = body_digest(body) if by_body else None  # NULLs never collide
        return await self._intake.accept(
            (source, delivery_id, digest, now, orjson.dumps(headers).decode(), body)
        )

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
                f"VALUES ({', '.join('?' * (EVENT_COLUMNS.count(',') + 2))})",
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

    async def get_inbox(self, inbox_id: int) -> InboxItem | None:
        rows = await self._fetch(f"{_INBOX_ROWS} WHERE inbox.id = ?", (inbox_id,))
        return _inbox_item(rows[0]) if rows else None

    async def purge(self, before: float, limit: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            requests = [
                row[0]
                for row in conn.execute(
                    f"{PURGEABLE_REQUESTS} ORDER BY id LIMIT ?", (before, before, limit)
                )
            ]
            loose = [
                row[0]
                for row in conn.execute(
                    f"{PURGEABLE_LOOSE_DELIVERIES} LIMIT ?", (before, before, limit)
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

    # -- plumbing -------------------------------------------------------------

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        cursor = await self._reader.execute(sql, tuple(args))
        return list(await cursor.fetchall())

    async def _write_fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        def op(conn: sqlite3.Connection) -> list[Any]:
            cursor = conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, tuple(args)).fetchall()

        result: list[Any] = await self._writer.submit(op, fails_whole=True)  # one statement
        return result

    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(sql, tuple(args)).rowcount

        # One statement: SQLite undoes a failed statement's changes itself.
        result: int = await self._writer.submit(op, fails_whole=True)
        return result

    async def _transaction(self, steps: Sequence[Step], *, wakes: Queue | None = None) -> int:
        """``wakes`` is for other processes: this one's stages nudge each other."""

        def op(conn: sqlite3.Connection) -> int:
            changed = 0
            for step in steps:
                run = conn.executemany if step.many else conn.execute
                changed = run(step.sql, step.args).rowcount
            return changed

        alone = len(steps) == 1 and not steps[0].many  # SQLite undoes a failed statement
        result: int = await self._writer.submit(op, fails_whole=alone)
        return result


def _inbox_item(row: sqlite3.Row) -> InboxItem:
    return inbox_from_row(row, unpack(bytes(row["body"]), row["codec"]))


def _open_writer(path: str, synchronous: str, busy_ms: int) -> tuple[sqlite3.Connection, Migrated]:
    """Runs on the writer thread, which owns this connection from then on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    return conn, migrate(conn)
