"""Versioned schema migrations for PostgreSQL, safe when several instances start at once.

Each file ``schema/NNNN_name.sql`` (see ``bot.store.migrations``) is applied in its own
transaction and recorded in ``schema_migrations``. The whole run holds a session-level
advisory lock, so a second instance starting (or a ``release`` step running) at the
same moment waits and then finds nothing left to do.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bot.store.migrations import Migrated, Migration, load

log = logging.getLogger("bot.store")

MIGRATIONS_DIR = Path(__file__).with_name("schema")
LOCK_CLASS = 0x626F74  # "bot": with the schema's hash, the advisory lock's key


def migrations() -> list[Migration]:
    """Every migration this release knows, oldest first."""
    return load(MIGRATIONS_DIR)


async def migrate(conn: Any) -> Migrated:
    """Bring the schema of ``conn``'s ``search_path`` up to date."""
    await conn.execute("SELECT pg_advisory_lock($1, hashtext(current_schema()))", LOCK_CLASS)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        known = migrations()
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
        newest = max((m.version for m in known), default=0)
        if done and max(done) > newest:
            log.warning(
                "the database schema is newer than this release (an upgrade is rolling out?)",
                extra={"schema_version": max(done), "release_version": newest},
            )
        return Migrated(max(done) if done else None, max([*done, newest]))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, hashtext(current_schema()))", LOCK_CLASS)
