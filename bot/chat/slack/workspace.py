"""Which Slack workspace the bot token belongs to: ``auth.test`` answers ``team_id``.

A bot token reaches only its own workspace, so that is also the home of every channel
the bot can post in.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.config.settings import Settings
from bot.core.errors import LookupFailed


async def token_workspace(settings: Settings, session: aiohttp.ClientSession) -> str:
    """The bot token's ``team_id``; raises ``LookupFailed`` saying why not."""
    url = settings.slack.api_url.rstrip("/") + "/auth.test"
    headers = {"Authorization": f"Bearer {settings.slack.bot_token}"}
    try:
        async with session.post(url, headers=headers, timeout=aiohttp.ClientTimeout(10)) as r:
            answer: Any = await r.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise LookupFailed(f"Slack's auth.test failed: {type(exc).__name__}") from None
    if not isinstance(answer, dict) or not answer.get("ok") or not answer.get("team_id"):
        error = answer.get("error") if isinstance(answer, dict) else "not JSON"
        raise LookupFailed(f"Slack's auth.test answered {error} (check [slack] bot_token)")
    return str(answer["team_id"])


class TokenWorkspace:
    """The bot token's workspace, asked once it answers (and again after a failure)."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._session = session
        self._team: str | None = None

    async def team(self) -> str:
        if self._team is None:
            self._team = await token_workspace(self._settings, self._session)
        return self._team

    async def own(self) -> frozenset[str]:
        return frozenset({await self.team()})

    async def channel_home(self, channel: str) -> str:
        """Every channel the token can post in is in its own workspace."""
        return await self.team()
