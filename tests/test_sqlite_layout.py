"""How the SQLite store lays out requests on disk: bodies apart from the rows that change,
compressed when that makes them smaller; and what its backlog costs to read."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.store import open_store
from bot.store.sql import BACKLOG
from bot.store.sqlite.bodies import pack, unpack
from bot.store.sqlite.store import FREE_LEASES
from tests.conftest import fixture_bytes

PUSH = fixture_bytes("github/push.json")  # octokit's example, see bot/providers/SAMPLES.md

NOW = 1_700_000_000.0
LEASE = 30.0

# The inbox table as releases before the bodies had their own table created it.
EARLIER_INBOX = """
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    source       TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    received_at  REAL    NOT NULL,
    headers      TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'new',
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_until  REAL,
    error        TEXT,
    UNIQUE (source, delivery_id)
);
"""


def wal_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_a_store_written_by_an_earlier_release_keeps_every_request(tmp_path):
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        db.executescript(EARLIER_INBOX)
        db.executemany(
            "INSERT INTO inbox (source, delivery_id, received_at, headers, body, state) "
            "VALUES ('github', ?, ?, '{}', ?, ?)",
            [("waiting", NOW, b'{"waiting": 1}', "new"), ("done", NOW, b'{"done": 1}', "done")],
        )
    db.close()

    store = await open_store(f"sqlite:///{path}")
    try:
        [waiting] = await store.claim_inbox(10, NOW, LEASE)
        assert (waiting.delivery_id, waiting.body) == ("waiting", b'{"waiting": 1}')
        done = await store.get_inbox(waiting.id + 1)
        assert done is not None and done.body == b'{"done": 1}'
        assert await store.accept("github", "done", {}, b"again", NOW) == (done.id, True)
        new_id, duplicate = await store.accept("github", "new", {}, b'{"new": 1}', NOW)
        assert not duplicate
        assert (await store.get_inbox(new_id)).body == b'{"new": 1}'
    finally:
        await store.close()

    again = await open_store(f"sqlite:///{path}")  # the second start finds nothing to move
    try:
        assert (await again.get_inbox(new_id)).body == b'{"new": 1}'
    finally:
        await again.close()


async def test_processing_a_request_does_not_write_its_body_again(tmp_path):
    """Each claim and each outcome used to rewrite the whole row, body included."""
    path = tmp_path / "bot.db"
    body = random.Random(8).randbytes(32_000)  # nothing to compress: the full size is stored
    store = await open_store(f"sqlite:///{path}")
    try:
        for n in range(40):
            await store.accept("github", f"d{n}", {}, body + b"%d" % n, NOW)
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        assert wal_bytes(path) == 0

        claimed = await store.claim_inbox(40, NOW, LEASE)
        for item in claimed:
            await store.record_outcome(item.id, [], [], NOW)

        assert len(claimed) == 40
        # Each commit writes the pages it changed; the bodies were 1.3 MB, written twice.
        assert wal_bytes(path) < 40 * len(body) / 2
    finally:
        await store.close()


def stored_bodies(path: Path) -> list[tuple[int, str | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT length(body), codec FROM inbox_bodies ORDER BY id").fetchall()
    db.close()
    return rows


async def test_bodies_are_stored_compressed_and_read_back_byte_for_byte(tmp_path):
    path = tmp_path / "bot.db"
    noise = random.Random(3).randbytes(4_000)
    bodies = {"push": PUSH, "noise": noise, "small": b'{"ok": true}'}
    store = await open_store(f"sqlite:///{path}")
    try:
        ids = {
            name: (await store.accept("github", name, {}, body, NOW))[0]
            for name, body in bodies.items()
        }
        (push_size, push_codec), (noise_size, noise_codec), (_, small_codec) = stored_bodies(path)
        assert push_codec == "lz4" and push_size < len(PUSH) / 2
        assert (noise_codec, noise_size) == (None, len(noise))  # stored as received
        assert small_codec is None
        for name, body in bodies.items():
            assert (await store.get_inbox(ids[name])).body == body
        claimed = await store.claim_inbox(10, NOW, LEASE)
        assert [item.body for item in claimed] == list(bodies.values())
    finally:
        await store.close()


async def test_bodies_stored_before_compression_are_still_read(tmp_path):
    path = tmp_path / "bot.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        old_id, _ = await store.accept("github", "old", {}, b'{"old": 1}', NOW)
    finally:
        await store.close()
    with sqlite3.connect(path) as db:  # the layout of the release before compression
        db.execute("ALTER TABLE inbox_bodies DROP COLUMN codec")
        db.execute("PRAGMA user_version = 0")  # it came before numbered migrations
    db.close()

    store = await open_store(f"sqlite:///{path}")
    try:
        new_id, _ = await store.accept("github", "new", {}, PUSH, NOW)
        assert (await store.get_inbox(old_id)).body == b'{"old": 1}'
        assert (await store.get_inbox(new_id)).body == PUSH
        assert [codec for _, codec in stored_bodies(path)] == [None, "lz4"]
    finally:
        await store.close()


@given(st.binary(max_size=4_096) | st.text(max_size=2_000).map(lambda t: (t * 3).encode()))
def test_any_body_unpacks_to_itself(body):
    assert unpack(*pack(body)) == body


def fill_outbox(path: Path, waiting: int) -> None:
    """``waiting`` messages of 2 KB waiting to be posted, as a chat outage leaves them."""
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO deliveries (id, event_id, inbox_id, target, platform, address, "
            "message, state, lifecycle, occurred_at, next_attempt_at, created_at, updated_at) "
            "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < :waiting) "
            "SELECT n || '.0/eng', n || '.0', n, 'eng', 'slack', 'C1', "
            "json_object('text', printf('%.*c', 2000, 'm')), 'pending', 'update+thread', "
            ":now, :now, :now + n, :now FROM k",
            {"now": NOW, "waiting": waiting},
        )
    db.close()


def plan_of(path: Path, statement: str) -> str:
    """SQLite's query plan for ``statement``: what it reads, index by index."""
    with sqlite3.connect(path) as db:
        steps = db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    db.close()
    return "\n".join(step[-1] for step in steps)


async def test_a_metrics_scrape_finds_the_oldest_waiting_message_in_one_step(tmp_path):
    """Finding the oldest waiting message read every waiting row: with a million waiting
    while chat was down, each /metrics scrape took 3 s (and more as scrapes piled up)."""
    path = tmp_path / "bot.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        fill_outbox(path, 2_000)
        backlog = await store.backlog()
    finally:
        await store.close()
    assert (backlog.deliveries_pending, backlog.oldest_pending_at) == (2_000, NOW + 1)
    oldest = BACKLOG.split("(SELECT min(created_at)", 1)[1].split(")", 1)[0]
    plan = plan_of(path, f"SELECT min(created_at){oldest}")
    assert plan == "SEARCH deliveries USING INDEX deliveries_pending_age", plan


async def test_a_restart_on_a_big_backlog_frees_the_claims_without_reading_the_rest(tmp_path):
    """Freeing a killed predecessor's leases read every waiting message: with a million
    waiting, 4 s before the bot answered /healthz."""
    path = tmp_path / "bot.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        fill_outbox(path, 2_000)
        leased = {d.id for d in await store.claim_deliveries(10, NOW + 1, LEASE)}
    finally:
        await store.close()  # as if killed: the leases stay
    store = await open_store(f"sqlite:///{path}")
    try:
        await store.recover()
        assert {d.id for d in await store.claim_deliveries(10, NOW + 1, LEASE)} == leased
    finally:
        await store.close()
    for statement, index in zip(FREE_LEASES, ["inbox_leased", "deliveries_leased"], strict=True):
        plan = plan_of(path, statement)
        assert f"USING INDEX {index} (lease_until>?)" in plan, plan
