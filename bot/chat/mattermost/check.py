"""What Mattermost can tell before the first post: whose token this is
(``GET /api/v4/users/me``) and whether each channel target exists for the bot
(``GET /api/v4/channels/{id}``). Incoming webhooks cannot be asked without posting:
each is named with the command that posts a test message to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.platform import Finding, unasked_webhooks
from bot.core.errors import DeliveryError

if TYPE_CHECKING:
    from bot.chat import ChatAdapter
    from bot.config.settings import Settings


async def check(adapter: ChatAdapter, settings: Settings) -> list[Finding]:
    from bot.chat.mattermost.adapter import MattermostAdapter

    assert isinstance(adapter, MattermostAdapter)
    channels = {n: t.address for n, t in settings.targets.items() if t.key == "mattermost"}
    hooks = unasked_webhooks(
        settings,
        "mattermost_webhook",
        "an incoming webhook answers only by posting",
        "posts a test message",
    )
    if not (settings.mattermost.url and settings.mattermost.bot_token):
        return hooks  # webhook targets only: nothing to ask
    try:
        me = await adapter.ask("/users/me")
    except DeliveryError as exc:
        return [Finding(False, f"Mattermost refused [mattermost] bot_token: {exc.reason}"), *hooks]
    findings = [Finding(True, f"posting to Mattermost as @{me.get('username', '?')}")]
    for name, channel in channels.items():
        try:
            found = await adapter.ask(f"/channels/{channel}")
        except DeliveryError as exc:
            findings.append(Finding(False, f"target {name!r}: {exc.reason}"))
            continue
        shown = found.get("display_name") or found.get("name") or channel
        findings.append(Finding(True, f"target {name!r}: channel {shown} is visible"))
    return findings + hooks
