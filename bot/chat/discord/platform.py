"""Discord as the registry knows it: a target is ``discord = CHANNEL_ID`` (posted with
the bot token) or ``discord_webhook = URL`` (no token needed)."""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.chat.discord.check import check
from bot.chat.discord.markup import DiscordMarkup
from bot.chat.platform import Platform, TargetKey
from bot.core.pacing import Pace

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings
    from bot.core.clock import Clock

WEBHOOK_URL = re.compile(
    r"^https?://[^/\s]+/api(?:/v\d+)?/webhooks/(?P<id>\d{1,20})/(?P<token>[\w.-]+)/?"
    r"(?:\?(?P<query>\S*))?$"
)
"""A Discord webhook URL as Discord shows it: ``.../api/webhooks/<id>/<token>``."""

CHANNEL_KEY = "discord"
WEBHOOK_KEY = "discord_webhook"
WEBHOOK_LOOKUP_RETRY = 60.0


def _channel_problem(address: str) -> str | None:
    if address.isdigit():
        return None
    return (
        "discord needs a channel id (digits: enable Developer Mode, "
        "right-click the channel, Copy Channel ID)"
    )


def _webhook_problem(address: str) -> str | None:
    if WEBHOOK_URL.match(address):
        return None
    return (
        "discord_webhook is not a Discord webhook URL "
        "(copy it from the channel's Integrations -> Webhooks: "
        "https://discord.com/api/webhooks/<id>/<token>)"
    )


def _targets(settings: Settings, key: str) -> list[str]:
    return [name for name, target in settings.targets.items() if target.key == key]


def _configured(settings: Settings) -> bool:
    # A webhook needs no token.
    return bool(settings.discord.bot_token) or bool(_targets(settings, WEBHOOK_KEY))


def _adapter(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock,
) -> ChatAdapter:
    # Imported here: the settings read this module for the target keys, and need not
    # load discord.py for that.
    from bot.chat.discord.adapter import DiscordAdapter

    # A webhook URL's host gives way to [discord] api_url.
    return DiscordAdapter(
        settings.discord.api_url, settings.discord.bot_token, session, directory, clock
    )


def _warnings(settings: Settings) -> list[str]:
    channels = _targets(settings, CHANNEL_KEY)
    if not channels or settings.discord.bot_token:
        return []
    return [
        f"Discord channel targets {', '.join(channels)} cannot be posted to: "
        "[discord] bot_token is empty (set BOT_DISCORD__BOT_TOKEN)"
    ]


def _background(adapter: ChatAdapter, settings: Settings) -> Coroutine[Any, Any, None] | None:
    """Which channel each webhook target posts into, so mutes issued there cover it."""
    from bot.chat.discord.adapter import DiscordAdapter

    webhooks = [settings.targets[name].address for name in _targets(settings, WEBHOOK_KEY)]
    if not isinstance(adapter, DiscordAdapter) or not webhooks:
        return None
    return adapter.learn_webhook_channels(webhooks, WEBHOOK_LOOKUP_RETRY)


DISCORD = Platform(
    name="discord",
    preview_module="bot.chat.discord.preview",
    markup=DiscordMarkup(),
    target_keys=(
        TargetKey(CHANNEL_KEY, _channel_problem),
        TargetKey(WEBHOOK_KEY, _webhook_problem),
    ),
    # The pace every lane has had so far; Discord's own buckets (per channel, per
    # webhook) are honoured on top of it by the adapter's holds.
    pace=Pace(rate=1.0, burst=5.0),
    adapter=_adapter,
    configured=_configured,
    # Components need the bot's own messages (a webhook's cannot carry them): the
    # adapter leaves them off webhook posts.
    takes_clicks=lambda settings: bool(settings.discord.public_key and settings.discord.bot_token),
    check=check,
    warnings=_warnings,
    background=_background,
    mention=re.compile(r"^<#(\d+)>$"),
    # `<#123>` is Slack syntax too, but a Slack channel id is never all digits.
    mention_precedence=1,
)
