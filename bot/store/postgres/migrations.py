"""Versioned schema migrations for PostgreSQL, safe when several instances start at once.

Each file ``schema_postgres/NNNN_name.sql`` is applied once, in order, in its own
transaction, and recorded in ``schema_migrations``. The whole run holds a session-level
advisory lock, so a second instance starting (or a ``release`` step running) at the
same moment waits and then finds nothing left to do. A migration is never edited once
released: a change to the schema is a new file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("bot.store")

MIGRATIONS_DIR = Path(__file__).with_name("schema")
LOCK_CLASS = 0x626F74  # "bot": with the schema's hash, the advisory lock's key


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration this release knows, oldest first."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append(Migration(int(number), name, path.read_text(encoding="utf-8")))
    return found


async def migrate(conn: Any) -> list[Migration]:
    """Bring the schema of ``conn``'s ``search_path`` up to date; returns what was applied."""
    await conn.execute("SELECT pg_advisory_lock($1, hashtext(current_schema()))", LOCK_CLASS)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        known = migrations()
        applied = []
        for migration in known:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("migrated", extra={"version": migration.version, "migration": migration.name})
            applied.append(migration)
        newest = max((m.version for m in known), default=0)
        if done and max(done) > newest:
            log.warning(
                "the database schema is newer than this release (an upgrade is rolling out?)",
                extra={"schema_version": max(done), "release_version": newest},
            )
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, hashtext(current_schema()))", LOCK_CLASS)
