"""The shared store: PostgreSQL through asyncpg, for several web and worker instances.

Same semantics as the SQLite store, with what sharing needs on top:

- Intake commits in groups, like SQLite: every request waiting becomes one multi-row
  ``INSERT ... ON CONFLICT DO NOTHING`` in one transaction, and each future resolves
  only after COMMIT. When a batch fails, its requests are retried one by one, so one
  request's failure never fails another's.
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
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.core.clock import Clock
from bot.core.errors import StoreUnavailable
from bot.core.pacing import LanePacer, SharedPacer
from bot.store.postgres.migrations import migrate
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
    INBOX_COLUMNS,
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

log = logging.getLogger("bot.store")

INBOX_CHANNEL = "bot_inbox"
OUTBOX_CHANNEL = "bot_outbox"
POOL_SIZE = 8
"""Connections per process; Heroku's smallest plans allow 20 in all."""
CONNECT_TIMEOUT = 10.0
LISTEN_RETRY_SECONDS = 2.0

_INSERT_DELIVERY = (
    f"INSERT INTO deliveries ({DELIVERY_COLUMNS}, inbox_id, next_attempt_at, updated_at) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, DELIVERY_COLUMNS.count(',') + 5))}) "
    "ON CONFLICT (id) DO NOTHING"
)
_CONVERSATION_UPSERT = (
    f"INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (target, thread_key) DO UPDATE SET ref = excluded.ref, "
    "status = excluded.status, latest_at = excluded.latest_at, ended = excluded.ended, "
    "started_by = excluded.started_by, updated_at = excluded.updated_at"
)
_NO_FLUSH = "set_config('synchronous_commit', 'off', true) IS NOT NULL"
"""In a statement's WHERE: its commit does not wait for the disk. Only for writes whose
loss in a database crash just repeats idempotent work (claims, leases, a normalize);
the next durable commit (an accepted request, a sent message) flushes them anyway, since
the log is written in order."""

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
_LATEST_IN_THREAD = (
    "SELECT *, row_number() OVER (PARTITION BY thread_key ORDER BY created_at DESC, "
    "seq DESC) AS newest FROM events WHERE thread_key IS NOT NULL"
)

# PostgreSQL cannot infer a parameter's type from ``$1 IS NULL``, so each one is cast.
_ACTIVITY_TYPES = {1: "bigint", 2: "text", 3: "text", 4: "text", 5: "text", 6: "int"}
_ACTIVITY = activity_query(lambda n: f"${n}::{_ACTIVITY_TYPES[n]}")

_Accept = tuple[str, str, float, str, bytes]
"""(source, delivery id, received at, headers as JSON, body): one row for the inbox."""


def _text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL, which payload-derived strings may carry."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


def _args(args: Sequence[Any]) -> list[Any]:
    return [_text(arg) for arg in args]


def _json_rows(columns: str, rows: Iterable[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of objects, for ``json_populate_recordset`` (one parameter
    carries any number of rows, typed by the table itself)."""
    names = [name.strip() for name in columns.split(",")]
    return json.dumps([dict(zip(names, _args(row), strict=True)) for row in rows])


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on every release (a round trip per store call).

    Nothing here leaves session state behind: no SET, LISTEN or open cursor on a pooled
    connection, and the migration's advisory lock is released explicitly.
    """


def _shift_params(sql: str, offset: int) -> str:
    """``sql`` with ``$1``, ``$2``... renumbered from ``offset + 1``, to join statements."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)


def _where(url: str) -> str:
    """Host, port and database of ``url``, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def _changed(status: str) -> int:
    """Rows touched, from a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


class _IntakeBatcher:
    """Group commit for ``accept``; see the module docstring."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[_Accept, asyncio.Future[tuple[int, bool]]] | None] = (
            asyncio.Queue()
        )
        self._task = asyncio.create_task(self._run(), name="postgres-intake")

    async def submit(self, row: _Accept) -> tuple[int, bool]:
        future: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, future))
        return await future

    async def close(self) -> None:
        self._queue.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < self._max_batch and not self._queue.empty():
                queued = self._queue.get_nowait()
                if queued is None:
                    stop = True
                    break
                batch.append(queued)
            await self._commit(batch)
            if stop:
                return

    async def _commit(self, batch: list[tuple[_Accept, asyncio.Future[tuple[int, bool]]]]) -> None:
        try:
            results = await self._insert([row for row, _ in batch])
        except Exception as exc:
            if len(batch) > 1:  # each request alone, so only the culprit fails
                for item in batch:
                    await self._commit([item])
            elif not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _insert(self, rows: list[_Accept]) -> list[tuple[int, bool]]:
        columns = [_args(column) for column in zip(*rows, strict=True)]
        keys = list(zip(columns[0], columns[1], strict=True))
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetch(
                "INSERT INTO inbox (source, delivery_id, received_at, headers, body) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], "
                "$5::bytea[]) ON CONFLICT (source, delivery_id) DO NOTHING "
                "RETURNING id, source, delivery_id",
                *columns,
            )
            new = {(row["source"], row["delivery_id"]): int(row["id"]) for row in inserted}
            known = dict(new)
            if len(new) < len(keys):
                sources, delivery_ids = zip(*(k for k in keys if k not in new), strict=True)
                for row in await conn.fetch(
                    "SELECT id, source, delivery_id FROM inbox WHERE (source, delivery_id) IN "
                    "(SELECT * FROM unnest($1::text[], $2::text[]))",
                    list(sources),
                    list(delivery_ids),
                ):
                    known[(row["source"], row["delivery_id"])] = int(row["id"])
            if new:
                await conn.execute(f"NOTIFY {INBOX_CHANNEL}")
        results = []
        for key in keys:
            # The first request with a new key is the accepted one; any repeat in the same
            # batch is a duplicate of it.
            results.append((known[key], new.pop(key, None) is None))
        return results


class PostgresStore:
    """The ``Store`` for several processes sharing one database (DESIGN: scale-out)."""

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self._url = url
        self._pool = pool
        self._intake = _IntakeBatcher(pool)
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
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        await self._intake.close()
        await self._pool.close()

    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    async def recover(self) -> None:
        """Nothing to do: leases held by other live instances must stay theirs."""

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
            _text(lane),
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
            _text(lane),
            seconds,
            (burst - 1) * interval,
        )

    # -- intake ---------------------------------------------------------------

    async def accept(
        self, source: str, delivery_id: str, headers: dict[str, str], body: bytes, now: float
    ) -> tuple[int, bool]:
        return await self._intake.submit((source, delivery_id, now, json.dumps(headers), body))

    async def count_rejection(self, source: str, reason: str, now: float) -> None:
        await self._execute(
            "INSERT INTO rejections AS r (source, reason, count, last_at) VALUES ($1, $2, 1, $3) "
            "ON CONFLICT (source, reason) DO UPDATE SET count = r.count + 1, last_at = $3",
            source,
            reason,
            now,
        )

    async def rejections(self) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT source, reason, count, last_at FROM rejections ORDER BY last_at DESC"
        )
        return [dict(row) for row in rows]

    # -- normalize stage ----------------------------------------------------

    async def claim_inbox(self, limit: int, now: float, lease: float) -> list[InboxItem]:
        rows = await self._fetch(
            "UPDATE inbox SET lease_until = $1, attempts = attempts + 1 "
            f"WHERE {_NO_FLUSH} AND id IN ("
            "SELECT id FROM inbox WHERE state = 'new' AND (lease_until IS NULL OR lease_until < $2)"
            f" ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING {INBOX_COLUMNS}",
            now + lease,
            now,
            limit,
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
            _json_rows(f"{EVENT_COLUMNS}, created_at", ((*event_values(e), now) for e in events)),
            _json_rows(
                f"{DELIVERY_COLUMNS}, inbox_id, next_attempt_at, updated_at",
                ((*delivery_values(d), inbox_id, max(now, d.not_before), now) for d in deliveries),
            ),
            _json_rows(
                "mute_id, delivery_id",
                ((d.muted_by, d.id) for d in deliveries if d.muted_by is not None),
            ),
            "done" if events else "ignored",
            inbox_id,
            pending,
        )

    async def fail_inbox(self, inbox_id: int, error: str, now: float) -> None:
        await self._execute(
            "UPDATE inbox SET state = 'dead', lease_until = NULL, error = $1 WHERE id = $2",
            error,
            inbox_id,
        )

    # -- deliver stage ------------------------------------------------------

    async def claim_deliveries(self, limit: int, now: float, lease: float) -> list[DeliveryRecord]:
        rows = await self._fetch(
            f"UPDATE deliveries SET lease_until = $1 WHERE {_NO_FLUSH} AND id IN ("
            "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $2 "
            "AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at LIMIT $3 "
            f"FOR UPDATE SKIP LOCKED) RETURNING {DELIVERY_COLUMNS}",
            now + lease,
            now,
            limit,
        )
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.created_at, d.id))

    async def renew_leases(self, delivery_ids: list[str], until: float) -> None:
        if delivery_ids:
            await self._execute(
                "UPDATE deliveries SET lease_until = $2 "
                f"WHERE id = ANY($1::text[]) AND state = 'pending' AND {_NO_FLUSH}",
                delivery_ids,
                until,
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
            "UPDATE deliveries SET state = 'sent', ref = $1, attempts = attempts + 1, "
            "lease_until = NULL, last_error = NULL, updated_at = $2 WHERE id = $3",
            (json.dumps(ref), now, delivery_id),
            AttemptRecord(delivery_id, now, "sent", http_status, None, now - started),
            also,
        )

    async def take_group(
        self, group_key: str, held: list[str], now: float, lease: float
    ) -> list[DeliveryRecord]:
        rows = await self._fetch(
            "UPDATE deliveries SET lease_until = $1 WHERE id IN ("
            "SELECT id FROM deliveries WHERE group_key = $2 AND state = 'pending' "
            "AND (lease_until IS NULL OR lease_until < $3 OR id = ANY($4::text[])) "
            f"FOR UPDATE SKIP LOCKED) RETURNING {DELIVERY_COLUMNS}",
            now + lease,
            group_key,
            now,
            held,
        )
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: (d.created_at, d.id))

    async def latest_digest(self, group_key: str) -> DigestRecord | None:
        rows = await self._fetch(
            f"SELECT {DIGEST_COLUMNS} FROM digests WHERE group_key = $1 "
            "ORDER BY updated_at DESC LIMIT 1",
            group_key,
        )
        return digest_from_row(rows[0]) if rows else None

    async def save_digest(
        self, digest: DigestRecord, members: list[str], now: float, *, started: float
    ) -> None:
        ref = json.dumps({"action": "grouped", "digest": digest.id, **digest.ref})
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO digests ({DIGEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (id) DO UPDATE SET ref = excluded.ref, "
                "entries = excluded.entries, updated_at = excluded.updated_at",
                *_args(digest_values(digest)),
            )
            await conn.execute(
                "UPDATE deliveries SET state = 'sent', ref = $1, attempts = attempts + 1, "
                "lease_until = NULL, last_error = NULL, updated_at = $2 "
                "WHERE id = ANY($3::text[])",
                *_args((ref, now, members)),
            )
            await conn.executemany(
                f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                [_args((member, now, "sent", None, None, now - started)) for member in members],
            )

    async def get_conversation(self, target: str, thread_key: str) -> ConversationRecord | None:
        rows = await self._fetch(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations "
            "WHERE target = $1 AND thread_key = $2",
            target,
            thread_key,
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
            "UPDATE deliveries SET attempts = attempts + 1, last_error = $1, "
            "next_attempt_at = $2, lease_until = NULL, updated_at = $3 WHERE id = $4",
            (error, next_attempt_at, now, delivery_id),
            AttemptRecord(delivery_id, now, "retry", http_status, error, now - started),
        )

    async def defer(self, delivery_id: str, until: float) -> None:
        await self._execute(
            "UPDATE deliveries SET next_attempt_at = $1, lease_until = NULL WHERE id = $2",
            until,
            delivery_id,
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
            "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = $1, "
            "lease_until = NULL, updated_at = $2 WHERE id = $3",
            (error, now, delivery_id),
            AttemptRecord(delivery_id, now, "dead", http_status, error, now - started),
        )

    async def _attempted(
        self,
        sql: str,
        args: tuple[Any, ...],
        attempt: AttemptRecord,
        also: Sequence[tuple[str, tuple[Any, ...]]] = (),
    ) -> None:
        """A delivery's new state and the attempt that led to it (and ``also`` any statements
        that belong with them), as one statement: one round trip, one commit."""
        steps = []
        params: list[Any] = []
        for n, (statement, values) in enumerate([(sql, args), *also]):
            steps.append(f"step{n} AS ({_shift_params(statement, len(params))})")
            params.extend(values)
        record = (
            f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES "
            f"({', '.join(f'${len(params) + n}' for n in range(1, 7))})"
        )
        params.extend(
            (
                attempt.delivery_id,
                attempt.at,
                attempt.outcome,
                attempt.http_status,
                attempt.error,
                attempt.duration,
            )
        )
        await self._execute(f"WITH {', '.join(steps)} {record}", *params)

    async def attempts_of(self, delivery_ids: list[str]) -> list[AttemptRecord]:
        rows = await self._fetch(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ANY($1::text[]) "
            "ORDER BY at, seq",
            delivery_ids,
        )
        return [AttemptRecord(**dict(row)) for row in rows]

    # -- reading and replay -------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        rows = await self._fetch(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = $1", event_id)
        return event_from_row(rows[0]) if rows else None

    async def events_of(self, inbox_id: int) -> list[EventRecord]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE inbox_id = $1 ORDER BY seq", inbox_id
        )
        return [event_from_row(row) for row in rows]

    async def get_inbox(self, inbox_id: int) -> InboxItem | None:
        rows = await self._fetch(f"SELECT {INBOX_COLUMNS} FROM inbox WHERE id = $1", inbox_id)
        return inbox_from_row(rows[0]) if rows else None

    async def deliveries_for(self, event_prefix: str) -> list[DeliveryRecord]:
        arg: str | int
        if "/" in event_prefix:
            where, arg = "id = $1", event_prefix
        elif "." in event_prefix:
            where, arg = "event_id = $1", event_prefix
        else:
            where, arg = "inbox_id = $1", int(event_prefix)
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {where} ORDER BY id", arg
        )
        return [delivery_from_row(row) for row in rows]

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT id, target, source, last_error AS error, updated_at AS at, "
            "'delivery' AS kind FROM deliveries WHERE state = 'dead' "
            "UNION ALL SELECT CAST(id AS TEXT), source, source, error, received_at, 'inbox' "
            "FROM inbox WHERE state = 'dead' ORDER BY at DESC LIMIT $1",
            limit,
        )
        return [dict(row) for row in rows]

    async def requeue_delivery(self, delivery_id: str, now: float) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, "
                "lease_until = NULL, created_at = $1, updated_at = $1 WHERE id = $2",
                now,
                _text(delivery_id),
            )
            await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        return _changed(status) > 0

    async def requeue_inbox(self, inbox_id: int, now: float) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM deliveries WHERE inbox_id = $1", inbox_id)
            await conn.execute("DELETE FROM events WHERE inbox_id = $1", inbox_id)
            status = await conn.execute(
                "UPDATE inbox SET state = 'new', attempts = 0, lease_until = NULL, error = NULL "
                "WHERE id = $1",
                inbox_id,
            )
            await conn.execute(f"NOTIFY {INBOX_CHANNEL}")
        return _changed(status) > 0

    async def purge(self, before: float, limit: int) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            requests = [
                row["id"]
                for row in await conn.fetch(
                    "SELECT id FROM inbox WHERE received_at < $1 AND state <> 'new' "
                    "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.inbox_id = inbox.id "
                    "AND (d.state = 'pending' OR (d.state = 'dead' AND d.updated_at >= $1))) "
                    "ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                    before,
                    limit,
                )
            ]
            loose = [
                row["id"]
                for row in await conn.fetch(
                    "SELECT id FROM deliveries WHERE inbox_id = 0 AND state <> 'pending' "
                    "AND updated_at < $1 AND created_at < $1 LIMIT $2",
                    before,
                    limit,
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

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT 'deliveries_' || state AS name, count(*) AS n FROM deliveries GROUP BY state "
            "UNION ALL SELECT 'inbox_' || state, count(*) FROM inbox GROUP BY state"
        )
        return {row["name"]: int(row["n"]) for row in rows}

    async def activity(self, wanted: ActivityFilter) -> list[Activity]:
        rows = await self._fetch(_ACTIVITY, *activity_args(wanted))
        return [activity_from_row(row) for row in rows]

    async def deliveries_of(self, event_ids: list[str]) -> list[DeliveryRecord]:
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = ANY($1::text[]) "
            "ORDER BY event_id, id",
            event_ids,
        )
        return [delivery_from_row(row) for row in rows]

    async def backlog(self) -> Backlog:
        row = (
            await self._fetch(
                "SELECT (SELECT count(*) FROM inbox WHERE state = 'new') AS inbox_pending, "
                "(SELECT received_at FROM inbox WHERE state = 'new' ORDER BY id LIMIT 1) "
                "AS inbox_oldest, "
                "(SELECT count(*) FROM deliveries WHERE state = 'pending') AS deliveries_pending, "
                "(SELECT min(created_at) FROM deliveries WHERE state = 'pending') "
                "AS outbox_oldest, "
                "(SELECT count(*) FROM deliveries WHERE state = 'dead') AS dead_deliveries, "
                "(SELECT count(*) FROM inbox WHERE state = 'dead') AS dead_requests"
            )
        )[0]
        oldest = [t for t in (row["inbox_oldest"], row["outbox_oldest"]) if t is not None]
        return Backlog(
            inbox_pending=row["inbox_pending"],
            deliveries_pending=row["deliveries_pending"],
            oldest_pending_at=min(oldest) if oldest else None,
            dead_deliveries=row["dead_deliveries"],
            dead_requests=row["dead_requests"],
        )

    async def enqueue(self, deliveries: list[DeliveryRecord], now: float) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                _INSERT_DELIVERY,
                [_args((*delivery_values(d), 0, max(now, d.not_before), now)) for d in deliveries],
            )
            await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")

    # -- mutes and reroutes ---------------------------------------------------

    async def add_mute(self, mute: MuteRecord) -> int:
        mute_id: int = await self._pool.fetchval(
            "INSERT INTO mutes (selector, platform, channel, channel_name, everywhere, threads, "
            "reason, creator, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            *_args(
                (
                    json.dumps(mute.selector),
                    mute.platform,
                    mute.channel,
                    mute.channel_name,
                    mute.everywhere,
                    json.dumps(mute.threads),
                    mute.reason,
                    mute.creator,
                    mute.created_at,
                    mute.expires_at,
                )
            ),
        )
        return mute_id

    async def add_reroute(self, reroute: RerouteRecord) -> int:
        reroute_id: int = await self._pool.fetchval(
            "INSERT INTO reroutes (selector, target, platform, address, label, creator, "
            "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            *_args(
                (
                    json.dumps(reroute.selector),
                    reroute.target,
                    reroute.platform,
                    reroute.address,
                    reroute.label,
                    reroute.creator,
                    reroute.created_at,
                    reroute.expires_at,
                )
            ),
        )
        return reroute_id

    async def get_mute(self, mute_id: int) -> MuteRecord | None:
        rows = await self._fetch(f"SELECT {MUTE_COLUMNS} FROM mutes WHERE id = $1", mute_id)
        return mute_from_row(rows[0]) if rows else None

    async def get_reroute(self, reroute_id: int) -> RerouteRecord | None:
        rows = await self._fetch(
            f"SELECT {REROUTE_COLUMNS} FROM reroutes WHERE id = $1", reroute_id
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
        # The row lock makes concurrent enders queue; the re-checked ``ended_at IS NULL``
        # lets exactly one of them through.
        rows = await self._fetch(
            "UPDATE mutes SET ended_at = $1, ended_by = $2, end_reason = $3 "
            f"WHERE id = $4 AND ended_at IS NULL RETURNING {MUTE_COLUMNS}",
            now,
            by,
            reason,
            mute_id,
        )
        return mute_from_row(rows[0]) if rows else None

    async def end_reroute(self, reroute_id: int, now: float, by: str) -> RerouteRecord | None:
        rows = await self._fetch(
            "UPDATE reroutes SET ended_at = $1, ended_by = $2 "
            f"WHERE id = $3 AND ended_at IS NULL RETURNING {REROUTE_COLUMNS}",
            now,
            by,
            reroute_id,
        )
        return reroute_from_row(rows[0]) if rows else None

    async def suppressed_by(self, mute_id: int) -> list[DeliveryRecord]:
        columns = ", ".join(f"d.{c.strip()}" for c in DELIVERY_COLUMNS.split(","))
        rows = await self._fetch(
            f"SELECT {columns} FROM suppressions s JOIN deliveries d ON d.id = s.delivery_id "
            "WHERE s.mute_id = $1 ORDER BY d.created_at, d.id",
            mute_id,
        )
        return [delivery_from_row(row) for row in rows]

    async def open_threads(self, since: float) -> list[EventRecord]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM ({_LATEST_IN_THREAD} AND created_at >= $1) latest "
            "WHERE newest = 1 AND status IN ('open', 'acknowledged') ORDER BY created_at",
            since,
        )
        return [event_from_row(row) for row in rows]

    async def thread_states(self, thread_keys: list[str]) -> dict[str, str | None]:
        if not thread_keys:  # asked for every request normalized: skip the round trip
            return {}
        rows = await self._fetch(
            "SELECT thread_key, status FROM "
            f"({_LATEST_IN_THREAD} AND thread_key = ANY($1::text[])) latest WHERE newest = 1",
            thread_keys,
        )
        return {row["thread_key"]: row["status"] for row in rows}

    # -- plumbing -------------------------------------------------------------

    async def _execute(self, sql: str, *args: Any) -> int:
        status: str = await self._pool.execute(sql, *_args(args))
        return _changed(status)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._pool.fetch(sql, *_args(args)))
