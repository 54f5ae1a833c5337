"""What can be told about Teams before the first post: nothing is asked. A Workflows
webhook has no endpoint that answers without running the flow (a POST is a post), so
each target is named with the command that posts a test card to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.platform import Finding, unasked_webhooks

if TYPE_CHECKING:
    from bot.chat import ChatAdapter
    from bot.config.settings import Settings


async def check(adapter: ChatAdapter, settings: Settings) -> list[Finding]:
    return unasked_webhooks(
        settings, "teams_webhook", "a Teams webhook answers only by posting", "posts a test card"
    )
