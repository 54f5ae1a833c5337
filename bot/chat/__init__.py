"""Chat platform adapters: they post, update and thread; the delivery stage owns retry."""

from __future__ import annotations

from typing import Any, Protocol

from bot.rendering import Message

Ref = dict[str, Any]
"""Where a posted message lives (Slack ``channel`` + ``ts``, Discord ``message_id``...)."""


class ChatAdapter(Protocol):
    """Raises ``DeliveryError`` saying whether a failure is worth retrying."""

    platform: str

    async def post(self, address: str, message: Message, *, reply_to: Ref | None = None) -> Ref:
        """Post a new message (as a threaded reply when ``reply_to`` is given)."""

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        """Edit a message posted earlier so it shows the current state."""

    def lane(self, address: str) -> str:
        """Key of the rate-limit lane a message to ``address`` waits in."""
