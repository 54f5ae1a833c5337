"""Numbered schema migrations, as both backends keep them.

Each backend has a folder of files ``NNNN_name.sql``, applied once each, in order, and
never edited once released: a change to the schema is a new file. How a backend records
its version differs (PostgreSQL: a ``schema_migrations`` table; SQLite: ``PRAGMA
user_version``), what a run reports does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load(folder: Path) -> list[Migration]:
    """Every migration in ``folder``, oldest first."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append(Migration(int(number), name, path.read_text(encoding="utf-8")))
    return found


class Migrated(NamedTuple):
    """What bringing a schema up to date did, for ``python -m bot migrate`` to say."""

    from_version: int | None
    """None: there was no schema. 0: a SQLite store from before numbered migrations."""
    to_version: int

    def __str__(self) -> str:
        if self.from_version is None:
            return f"created schema v{self.to_version}"
        if self.from_version == self.to_version:
            return f"already at v{self.to_version}"
        return f"upgraded v{self.from_version} -> v{self.to_version}"
