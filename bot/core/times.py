"""When something happened, read from whatever a sender or an operator wrote.

One reader for every place that turns a payload's or a person's time into a datetime, so
"what counts as a time" cannot differ between the normalizer, the renderer and the CLI.
Each caller decides what an unreadable time means to it (now, none, an error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_LATEST_UNIX = 2**33
"""Seconds past this (the year 2242) are not a time a sender meant: a typo or an id."""


def parse_time(value: Any, *, unix: bool = True) -> datetime | None:
    """A timezone-aware datetime, or None when ``value`` is not a readable time.

    Accepted: a datetime, ISO 8601 text (``Z`` or a trailing `` UTC`` allowed, GitLab's
    ``2015-05-17 18:21:36 UTC``; no zone meaning UTC) and, with
    ``unix``, Unix seconds or milliseconds as numbers or digit strings (senders use
    both). Booleans are never times, though Python counts them as numbers.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            iso = value.removesuffix(" UTC") + ("+00:00" if value.endswith(" UTC") else "")
            return parse_time(datetime.fromisoformat(iso.replace("Z", "+00:00")))
        except ValueError:
            pass
    if not unix or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None  # only numbers and text can be Unix times (a template's undefined is not)
    try:
        stamp = float(value)
    except ValueError:
        return None
    stamp = stamp / 1000 if stamp > 1e11 else stamp
    return datetime.fromtimestamp(stamp, UTC) if 0 <= stamp < _LATEST_UNIX else None
