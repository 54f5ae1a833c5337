"""Which Discord guild a channel is in: ``GET /channels/{id}`` answers ``guild_id``."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.config.settings import Settings
from bot.core.errors import LookupFailed


async def channel_guild(settings: Settings, session: aiohttp.ClientSession, channel: str) -> str:
    """The guild of ``channel``; raises ``LookupFailed`` saying why not (a DM has none)."""
    discord = settings.discord
    if not discord.bot_token:
        raise LookupFailed("a channel's guild needs [discord] bot_token")
    if not channel.isdigit():
        raise LookupFailed(f"{channel!r} is not a Discord channel id")
    url = f"{discord.api_url.rstrip('/')}/channels/{channel}"
    headers = {"Authorization": f"Bot {discord.bot_token}"}
    try:
        async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(10)) as r:
            answer: Any = await r.json(content_type=None)
            status = r.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise LookupFailed(f"Discord did not say ({type(exc).__name__})") from None
    if status != 200 or not isinstance(answer, dict) or not answer.get("guild_id"):
        raise LookupFailed(f"Discord knows no guild of channel {channel} (HTTP {status})")
    return str(answer["guild_id"])


async def target_guilds(settings: Settings, session: aiohttp.ClientSession) -> frozenset[str]:
    """The guilds of the configured Discord channel targets (those it could look up)."""
    guilds = set()
    for target in settings.targets.values():
        if target.key == "discord":  # a channel target (webhooks say no guild here)
            try:
                guilds.add(await channel_guild(settings, session, target.address))
            except LookupFailed:
                continue
    return frozenset(guilds)
