"""Handshakes: some senders confirm a URL by asking it to echo a value before they send.

A source's ``challenge`` names where the value is: ``"query:hub.challenge"`` (a query
parameter: WebSub's ``GET ?hub.challenge=``, Dropbox's ``GET ?challenge=``) or
``"body:challenge"`` (a field of the JSON body, a dotted path: Slack's
``url_verification``). The bot answers 200 with the value alone as ``text/plain`` and
stores nothing. A body challenge is answered only after the request verified, because
an event that merely contains such a field must still be stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers.base import dig


def challenge_value(spec: str | None, query: Mapping[str, str], payload: Any) -> str | None:
    """The value to echo, or ``None`` when this request is not that source's handshake."""
    where, _, name = (spec or "").partition(":")
    if where == "query":
        value = query.get(name)
    elif where == "body":
        value = dig(payload, name)
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value) or None
