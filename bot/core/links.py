"""The one check every URL passes before it reaches a message, on every platform.

A link's address comes from payloads and templates, so it is attacker-shaped: Slack
reads ``<!channel|...>`` and ``javascript:`` as readily as a web address, and a newline
or a ``)`` in a Discord field lets a second, masked link in. Only ``http(s)`` addresses
with no whitespace, control characters, ``<``, ``>`` or ``|`` are linked; anything
else is dropped and the text it labelled is kept.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
"""Discord's limit for an embed URL; Slack's is higher."""

_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f<>|]")


def safe_url(address: str) -> str | None:
    """``address`` when a message may link to it, else None."""
    if len(address) > MAX_URL_LENGTH or _UNSAFE.search(address):
        return None
    try:
        parts = urlsplit(address)
    except ValueError:  # an unbalanced [ in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return address
