"""Headers as each sender builds them: signatures and credentials, computed the sender's way.

Tests sign bodies here rather than reaching into ``bot.providers.signing``, so a mistake
in our verifier cannot be mirrored by the same mistake in the test.
"""

from __future__ import annotations

import base64

ALERTMANAGER_TOKEN = "am-token"


def bearer(token: str) -> dict[str, str]:
    """Alertmanager's ``http_config.authorization`` (type Bearer by default)."""
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def basic(username: str, password: str) -> dict[str, str]:
    """Alertmanager's ``http_config.basic_auth``."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}", "Content-Type": "application/json"}
