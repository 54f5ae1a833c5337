"""Durations as people write them in config and chat: ``30s``, ``5m``, ``2h``, ``1d``."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; compound forms such as ``1h30m`` are allowed.

    Raises ValueError with a message a person can act on.
    """
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration (use e.g. 30m, 2h, 1d)")
    if cleaned.isdigit():
        return float(cleaned)
    pos = 0
    total = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"bad duration {text!r} (use e.g. 30s, 30m, 2h, 1d)")
    return total


def parse_rate(text: str) -> float:
    """Events per second in ``50/s``, ``600/m`` or ``10/5m``.

    Raises ValueError with a message a person can act on.
    """
    count, slash, per = text.strip().lower().replace(" ", "").partition("/")
    try:
        amount = float(count)
        seconds = parse_duration(per if per[:1].isdigit() else f"1{per}")
    except ValueError:
        seconds = 0.0
    if not (slash and per) or seconds <= 0:
        raise ValueError(f"bad rate {text!r} (use e.g. 50/s, 600/m)")
    return amount / seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form, for messages: ``2h``, ``1d 4h``, ``45s``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts[:2])
