"""The shared store: PostgreSQL through asyncpg, for several web and worker instances.

Same semantics as the SQLite store (the SQL both run is in ``bot.store.sql``), with what
sharing needs on top:

- Intake commits in groups, like SQLite (``intake``).
- Work is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease: instances never block on
  or take each other's claimed rows, and a crashed instance's rows are claimable again
  once its lease runs out (``recover`` leaves leases alone: they may be a live peer's).
- New work is announced with ``NOTIFY`` inside the transaction that stores it (delivered
  on COMMIT); ``watch`` LISTENs, so a worker on another machine wakes at once.
- Per-channel pacing lives in the ``lanes`` table, so all instances share one budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.core.clock import Clock
from bot.core.errors import StoreUnavailable
from bot.core.pacing import LanePacer, SharedPacer
from bot.store.migrations import Migrated
from bot.store.postgres.intake import INBOX_CHANNEL, IntakeBatcher
from bot.store.postgres.migrations import migrate
from bot.store.postgres.params import numbered, sendable, text
from bot.store.records import AttemptRecord, DeliveryRecord, EventRecord, InboxItem
from bot.store.rows import (
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    INBOX_COLUMNS,
    attempt_values,
    body_digest,
    delivery_values,
    event_values,
    inbox_from_row,
    to_json,
)
from bot.store.sql import (
    ATTEMPT_INSERT,
    PURGEABLE_LOOSE_DELIVERIES,
    PURGEABLE_REQUESTS,
    Dialect,
    Queue,
    SQLStore,
    Step,
)

log = logging.getLogger("bot.store")

OUTBOX_CHANNEL = "bot_outbox"
CHANNELS: dict[Queue, str] = {"inbox": INBOX_CHANNEL, "outbox": OUTBOX_CHANNEL}
POOL_SIZE = 8
"""Connections per process; Heroku's smallest plans allow 20 in all."""
CONNECT_TIMEOUT = 10.0
LISTEN_RETRY_SECONDS = 2.0

_NO_FLUSH = "set_config('synchronous_commit', 'off', true) IS NOT NULL"
"""In a statement's WHERE: its commit does not wait for the disk. Only for writes whose
loss in a database crash just repeats idempotent work (claims, leases, a normalize);
the next durable commit (an accepted request, a sent message) flushes them anyway, since
the log is written in order."""

POSTGRES = Dialect(
    arrays=True,
    insertion_order="seq",
    event_order="seq",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    no_flush=f"{_NO_FLUSH} AND ",
    insert_or_ignore=("INSERT", " ON CONFLICT DO NOTHING"),
    param=lambda n, sql_type: f"${n}::{sql_type}",
)

_RECORD_OUTCOME = (
    f"WITH new_events AS (INSERT INTO events ({EVENT_COLUMNS}, created_at) "
    f"SELECT {EVENT_COLUMNS}, created_at FROM json_populate_recordset(NULL::events, $1::json) "
    "ON CONFLICT (id) DO NOTHING), "
    f"new_deliveries AS (INSERT INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, next_attempt_at, "
    f"updated_at) SELECT {DELIVERY_COLUMNS}, inbox_id, next_attempt_at, updated_at "
    "FROM json_populate_recordset(NULL::deliveries, $2::json) ON CONFLICT (id) DO NOTHING), "
    "suppressed AS (INSERT INTO suppressions (mute_id, delivery_id) "
    "SELECT mute_id, delivery_id FROM json_populate_recordset(NULL::suppressions, $3::json) "
    "ON CONFLICT DO NOTHING) "
    f"UPDATE inbox SET state = $4, lease_until = NULL, error = NULL WHERE id = $5 AND {_NO_FLUSH} "
    # NOTIFY as a function, so it rides in the same statement (sent on COMMIT like NOTIFY).
    f"RETURNING CASE WHEN $6 THEN pg_notify('{OUTBOX_CHANNEL}', '') END"
)


def _json_rows(columns: str, rows: Iterable[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of objects, for ``json_populate_recordset`` (one parameter
    carries any number of rows, typed by the table itself)."""
    names = [name.strip() for name in columns.split(",")]
    return to_json([dict(zip(names, sendable(row), strict=True)) for row in rows])


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on every release (a round trip per store call).

    Nothing here leaves session state behind: no SET, LISTEN or open cursor on a pooled
    connection, and the migration's advisory lock is released explicitly.
    """


def _where(url: str) -> str:
    """Host, port and database of ``url``, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def _changed(status: str) -> int:
    """Rows touched, from a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresStore(SQLStore):
    """The ``Store`` for several processes sharing one database (DESIGN: scale-out)."""

    dialect = POSTGRES

    def __init__(self, url: str, pool: asyncpg.Pool, migrated: Migrated) -> None:
        super().__init__(migrated)
        self._url = url
        self._pool = pool
        self._intake = IntakeBatcher(pool)
        self._listening: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        """Connect and bring the schema up to date (see ``bot.store.postgres.migrations``)."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_TIMEOUT,
                reset=_keep_session,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {_where(url)}: {exc} "
                "(check [store] url or DATABASE_URL, and that the server is up)"
            ) from None
        try:
            async with pool.acquire() as conn:
                migrated = await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool, migrated)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        await self._intake.close()
        await self._pool.close()

    async def recover(self) -> None:
        """Nothing to do: leases held by other live instances must stay theirs."""

    async def recover_planner(self) -> None:
        """Nothing to do, as for ``recover``: a dead planner's claims expire."""

    async def watch(self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]) -> None:
        self._listening = asyncio.create_task(
            self._listen(on_inbox, on_outbox), name="postgres-listen"
        )

    async def _listen(self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]) -> None:
        """Hold a LISTEN connection, reconnecting when it drops (polling covers the gap)."""
        while True:
            try:
                await self._listen_once(on_inbox, on_outbox)
                log.warning("lost the LISTEN connection; polling until it is back")
            except Exception as exc:  # the database is down: the stages poll meanwhile
                log.warning("cannot LISTEN for new work; polling", extra={"error": str(exc)})
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def _listen_once(
        self, on_inbox: Callable[[], None], on_outbox: Callable[[], None]
    ) -> None:
        lost = asyncio.Event()
        conn = await asyncpg.connect(self._url)
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(INBOX_CHANNEL, lambda *_: on_inbox())
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: on_outbox())
            on_inbox()  # anything stored while nobody listened
            on_outbox()
            await lost.wait()
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def lane_pacer(self, clock: Clock) -> LanePacer:
        return SharedPacer(self, clock=clock)

    async def reserve_turn(self, lane: str, interval: float, burst: float) -> float:
        """Take the lane's next send slot; returns the seconds to wait for it.

        The generic cell rate algorithm, one atomic upsert: ``next_at`` moves one interval
        per send, and a send may go up to ``burst - 1`` intervals ahead of it. The
        database's clock decides, so instances on different machines agree.
        """
        delay: float = await self._pool.fetchval(
            "INSERT INTO lanes AS l (lane, next_at) "
            "VALUES ($1, extract(epoch FROM now())::float8 + $2) "
            "ON CONFLICT (lane) DO UPDATE "
            "SET next_at = greatest(l.next_at, extract(epoch FROM now())::float8) + $2 "
            "RETURNING greatest(0, l.next_at - $2 - $3 - extract(epoch FROM now())::float8)",
            text(lane),
            interval,
            (burst - 1) * interval,
        )
        return delay

    async def hold_lane(self, lane: str, seconds: float, interval: float, burst: float) -> None:
        """Nothing goes out on the lane for ``seconds`` (a 429), then one per interval."""
        await self._pool.execute(
            "INSERT INTO lanes AS l (lane, next_at) "
            "VALUES ($1, extract(epoch FROM now())::float8 + $2 + $3) "
            "ON CONFLICT (lane) DO UPDATE SET next_at = greatest(l.next_at, EXCLUDED.next_at)",
            text(lane),
            seconds,
            (burst - 1) * interval,
        )

    # -- what PostgreSQL does its own way -------------------------------------

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
        return await self._intake.submit((source, delivery_id, digest, now, to_json(headers), body))

    async def claim_inbox(self, limit: int, now: float, lease: float) -> list[InboxItem]:
        rows = await self._fetch(
            "UPDATE inbox SET lease_until = $1, attempts = attempts + 1 "
            f"WHERE {_NO_FLUSH} AND id IN ("
            "SELECT id FROM inbox WHERE state = 'new' AND (lease_until IS NULL OR lease_until < $2)"
            f" ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING {INBOX_COLUMNS}",
            (now + lease, now, limit),
        )
        return sorted((inbox_from_row(row) for row in rows), key=lambda item: item.id)

    async def record_outcome(
        self,
        inbox_id: int,
        events: list[EventRecord],
        deliveries: list[DeliveryRecord],
        now: float,
    ) -> None:
        # One statement, so one round trip and one commit: normalize is sequential, and
        # its speed is what one instance can take in.
        pending = any(d.state == "pending" for d in deliveries)
        await self._execute(
            _RECORD_OUTCOME,
            (
                _json_rows(
                    f"{EVENT_COLUMNS}, created_at", ((*event_values(e), now) for e in events)
                ),
                _json_rows(
                    f"{DELIVERY_COLUMNS}, inbox_id, next_attempt_at, updated_at",
                    (
                        (*delivery_values(d), inbox_id, max(now, d.not_before), now)
                        for d in deliveries
                    ),
                ),
                _json_rows(
                    "mute_id, delivery_id",
                    ((d.muted_by, d.id) for d in deliveries if d.muted_by is not None),
                ),
                "done" if events else "ignored",
                inbox_id,
                pending,
            ),
        )

    async def get_inbox(self, inbox_id: int) -> InboxItem | None:
        rows = await self._fetch(f"SELECT {INBOX_COLUMNS} FROM inbox WHERE id = $1", (inbox_id,))
        return inbox_from_row(rows[0]) if rows else None

    async def purge(self, before: float, limit: int) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            requests = [
                row["id"]
                for row in await conn.fetch(
                    numbered(f"{PURGEABLE_REQUESTS} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED"),
                    before,
                    before,
                    limit,
                )
            ]
            loose = [
                row["id"]
                for row in await conn.fetch(
                    numbered(f"{PURGEABLE_LOOSE_DELIVERIES} LIMIT ?"), before, before, limit
                )
            ]
            deliveries = loose + [
                row["id"]
                for row in await conn.fetch(
                    "SELECT id FROM deliveries WHERE inbox_id = ANY($1::bigint[])", requests
                )
            ]
            for table in ("attempts", "suppressions"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE delivery_id = ANY($1::text[])", deliveries
                )
            await conn.execute("DELETE FROM deliveries WHERE id = ANY($1::text[])", deliveries)
            await conn.execute("DELETE FROM events WHERE inbox_id = ANY($1::bigint[])", requests)
            await conn.execute("DELETE FROM inbox WHERE id = ANY($1::bigint[])", requests)
            await conn.execute("DELETE FROM digests WHERE updated_at < $1", before)
            await conn.execute("DELETE FROM conversations WHERE updated_at < $1", before)
        return len(requests) + len(loose)

    # -- plumbing -------------------------------------------------------------

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return list(await self._pool.fetch(numbered(sql), *sendable(args)))

    _write_fetch = _fetch  # a write's rows come back once it committed, like a read's

    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        status: str = await self._pool.execute(numbered(sql), *sendable(args))
        return _changed(status)

    async def _transaction(self, steps: Sequence[Step], *, wakes: Queue | None = None) -> int:
        changed = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for step in steps:
                sql = numbered(step.sql)
                if step.many:
                    await conn.executemany(sql, [sendable(row) for row in step.args])
                else:
                    changed = _changed(await conn.execute(sql, *sendable(step.args)))
            if wakes is not None:
                await conn.execute(f"NOTIFY {CHANNELS[wakes]}")
        return changed

    async def _attempted(self, steps: Sequence[Step], attempt: AttemptRecord) -> None:
        """As one statement: one round trip, one commit."""
        parts = []
        params: list[Any] = []
        for n, step in enumerate(steps):
            parts.append(f"step{n} AS ({numbered(step.sql, len(params) + 1)})")
            params.extend(step.args)
        record = numbered(ATTEMPT_INSERT, len(params) + 1)
        params.extend(attempt_values(attempt))
        await self._execute(f"WITH {', '.join(parts)} {record}", params)
