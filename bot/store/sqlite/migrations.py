"""Numbered schema migrations for SQLite, counted in ``PRAGMA user_version``.

Releases before these ran one idempotent schema at every start and upgraded older
layouts by looking at the tables, so a store they made has ``user_version`` 0 and
tables. ``0001_initial`` therefore creates only what is missing, and a migration that
reshapes what such a release made starts with a line ``-- only if: QUERY``: it runs
when the query's first column is true (the old shape is there) and counts as applied
either way. The whole upgrade is one IMMEDIATE transaction: another process opening the
file waits, then finds it done.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from bot.store.migrations import Migrated, load

log = logging.getLogger("bot.store")

MIGRATIONS = load(Path(__file__).with_name("schema"))
NEWEST = MIGRATIONS[-1].version
GUARD = "-- only if:"


def migrate(conn: sqlite3.Connection) -> Migrated:
    """Bring the schema up to date; ``conn`` is in autocommit mode (no open transaction)."""
    if _version(conn) == NEWEST:  # the usual start: no write lock taken
        return Migrated(NEWEST, NEWEST)
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _version(conn)
        empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        pending = [m for m in MIGRATIONS if m.version > found]
        for migration in pending:
            if _wanted(conn, migration.sql):
                for statement in _statements(migration.sql):
                    conn.execute(statement)
        if pending:
            conn.execute(f"PRAGMA user_version = {NEWEST}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for migration in pending:
        log.info("migrated", extra={"version": migration.version, "migration": migration.name})
    if found > NEWEST:
        log.warning(
            "the store's schema is newer than this release",
            extra={"schema_version": found, "release_version": NEWEST},
        )
    return Migrated(None if empty else found, max(found, NEWEST))


def _version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _wanted(conn: sqlite3.Connection, script: str) -> bool:
    for line in script.splitlines():
        if line.startswith(GUARD):
            return bool(conn.execute(line.removeprefix(GUARD)).fetchone()[0])
    return True


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one: ``executescript`` would COMMIT first,
    ending the transaction that keeps an upgrade whole."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if any(line.strip() and not line.lstrip().startswith("--") for line in pending.splitlines()):
        raise ValueError(f"a migration ends without a semicolon: {pending.strip()!r}")
