"""Chat platform adapters: they post, update and thread; the delivery stage owns retry."""

from __future__ import annotations

from typing import Any, Protocol

from bot.render.renderer import Message

Ref = dict[str, Any]
"""Where a posted message lives (Slack ``channel`` + ``ts``, Discord ``message_id``...)."""


class ChatAdapter(Protocol):
    """Raises ``DeliveryError`` saying whether a failure is worth retrying.

    ``MessageGone`` says the message behind a ``Ref`` was deleted, so a caller can post
    a new one instead.
    """

    platform: str

    async def post(self, address: str, message: Message) -> Ref:
        """Post a new message; the ``Ref`` says where it lives, to edit or thread later."""

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        """Edit a message posted earlier so it shows the current state."""

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        """Add a reply in the thread of a message; returns its ``Ref`` as it now stands
        (a thread created on the way is part of it)."""

    def can_reply(self, address: str, ref: Ref) -> bool:
        """Whether ``reply`` can thread under this message at this target."""

    def lane(self, address: str) -> str:
        """Key of the rate-limit lane a message to ``address`` waits in."""
