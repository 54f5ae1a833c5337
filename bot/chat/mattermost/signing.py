"""What makes a Mattermost click unforgeable: Mattermost signs nothing it sends to an
``integration.url``, so each action button's ``integration.context`` carries the action,
the delivery it leads to, and an HMAC-SHA256 of both keyed by ``[mattermost]
actions_secret``, which only the bot holds. Mattermost keeps the context on the server
(clients never see it) and sends it back as given."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

ACTIONS_PATH = "/mattermost/actions"


def mac(secret: str, action: str, value: str) -> str:
    message = f"{action}\n{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def context_for(secret: str, action: str, value: str) -> dict[str, str]:
    return {"action": action, "value": value, "mac": mac(secret, action, value)}


def verified(secret: str, context: Any) -> tuple[str, str] | None:
    """(action, value) of a context the bot made, compared in constant time; else None."""
    if not secret or not isinstance(context, dict):
        return None
    action, value, given = context.get("action"), context.get("value"), context.get("mac")
    if not (isinstance(action, str) and isinstance(value, str) and isinstance(given, str)):
        return None
    if not hmac.compare_digest(mac(secret, action, value).encode(), given.encode()):
        return None
    return action, value
