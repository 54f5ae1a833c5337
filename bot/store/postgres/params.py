"""How values and placeholders reach asyncpg."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any


def text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL, which payload-derived strings may carry."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [text(item) for item in value]
    return value


def sendable(values: Sequence[Any]) -> list[Any]:
    """``values`` as PostgreSQL can hold them (see ``text``)."""
    return [text(value) for value in values]


@lru_cache(maxsize=1024)
def numbered(sql: str, first: int = 1) -> str:
    """``sql`` with each ``?`` (the shared statements' style, ``bot.store.sql``) spelled
    ``$first``, ``$first + 1``...; a statement already numbered comes back as it is.
    Cached: the shared statements are few, and each is numbered once."""
    count = iter(range(first, first + sql.count("?")))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)
