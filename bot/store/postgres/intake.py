"""The PostgreSQL intake: group commit for ``accept``.

Every request waiting becomes one multi-row ``INSERT ... ON CONFLICT DO NOTHING`` in
one transaction, and each future resolves only after COMMIT. When a batch fails, its
requests are retried one by one, so one request's failure never fails another's.
"""

from __future__ import annotations

import asyncio

import asyncpg

from bot.store.postgres.params import sendable

INBOX_CHANNEL = "bot_inbox"
"""Notified when requests wait to be normalized."""

Accept = tuple[str, str, str | None, float, str, bytes]
"""(source, delivery id, body digest or ``None``, received at, headers as JSON, body): an
inbox row."""


class IntakeBatcher:
    """See the module docstring."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Accept, asyncio.Future[tuple[int, bool]]] | None] = (
            asyncio.Queue()
        )
        self._task = asyncio.create_task(self._run(), name="postgres-intake")

    async def submit(self, row: Accept) -> tuple[int, bool]:
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

    async def _commit(self, batch: list[tuple[Accept, asyncio.Future[tuple[int, bool]]]]) -> None:
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

    async def _insert(self, rows: list[Accept]) -> list[tuple[int, bool]]:
        columns = [sendable(column) for column in zip(*rows, strict=True)]
        async with self._pool.acquire() as conn, conn.transaction():
            # No conflict target: a known delivery id and a known body are both repeats.
            inserted = await conn.fetch(
                "INSERT INTO inbox (source, delivery_id, body_digest, received_at, headers, "
                "body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], "
                "$5::text[], $6::bytea[]) ON CONFLICT DO NOTHING "
                "RETURNING id, source, delivery_id",
                *columns,
            )
            new = {(row["source"], row["delivery_id"]): int(row["id"]) for row in inserted}
            results: list[tuple[int, bool]] = []
            for source, delivery_id, digest in zip(*columns[:3], strict=True):
                # The first request with a new key is the accepted one; any repeat in the
                # same batch, or of an earlier request, is a duplicate of it.
                accepted = new.pop((source, delivery_id), None)
                if accepted is not None:
                    results.append((accepted, False))
                    continue
                known = await conn.fetchval(
                    "SELECT id FROM inbox WHERE source = $1 AND "
                    "(delivery_id = $2 OR body_digest = $3) ORDER BY id LIMIT 1",
                    source,
                    delivery_id,
                    digest,
                )
                results.append((int(known), True))
            if inserted:
                await conn.execute(f"NOTIFY {INBOX_CHANNEL}")
        return results
