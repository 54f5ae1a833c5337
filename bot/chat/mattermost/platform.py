"""Mattermost as the registry knows it: ``mattermost = CHANNEL_ID`` posts as the bot
account (``[mattermost] url`` and ``bot_token``: create, edit, thread);
``mattermost_webhook = URL`` is an incoming webhook, which can only post."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.chat.mattermost.check import check
from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.mattermost.signing import ACTIONS_PATH
from bot.chat.platform import Platform, TargetKey
from bot.core.pacing import Pace

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings
    from bot.core.clock import Clock

CHANNEL_KEY = "mattermost"
WEBHOOK_KEY = "mattermost_webhook"
CHANNEL_ID = re.compile(r"^[a-z0-9]{26}$")
WEBHOOK_URL = re.compile(r"^https?://[^\s/]+(?:/[^\s?#]*)?/hooks/(?P<id>[a-z0-9]{26})/?$")


def _channel_problem(address: str) -> str | None:
    if CHANNEL_ID.match(address):
        return None
    return (
        "mattermost needs a channel id (26 letters and digits: the channel's name -> "
        "View Info shows it)"
    )


def _webhook_problem(address: str) -> str | None:
    if WEBHOOK_URL.match(address):
        return None
    return (
        "mattermost_webhook is not a Mattermost incoming webhook URL "
        "(Integrations -> Incoming Webhooks: https://<host>/hooks/<26 characters>)"
    )


def _targets(settings: Settings, key: str) -> list[str]:
    return [name for name, target in settings.targets.items() if target.key == key]


def _configured(settings: Settings) -> bool:
    bot = bool(settings.mattermost.url and settings.mattermost.bot_token)
    return bot or bool(_targets(settings, WEBHOOK_KEY))


def _takes_clicks(settings: Settings) -> bool:
    """Action buttons need the bot account (a webhook's post carries none here), a
    public address for Mattermost to call back, and the key that signs each button."""
    mattermost = settings.mattermost
    bot = mattermost.url and mattermost.bot_token and _targets(settings, CHANNEL_KEY)
    return bool(bot and mattermost.actions_secret and settings.server.public_url)


def actions_url(settings: Settings) -> str:
    """Where Mattermost sends the clicks: ``[server] public_url`` + ``/mattermost/actions``."""
    return settings.server.public_url.rstrip("/") + ACTIONS_PATH


def _adapter(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock,
) -> ChatAdapter:
    from bot.chat.mattermost.adapter import Actions, MattermostAdapter

    mattermost = settings.mattermost
    actions = (
        Actions(actions_url(settings), mattermost.actions_secret)
        if _takes_clicks(settings)
        else None
    )
    return MattermostAdapter(mattermost.url, mattermost.bot_token, session, actions)


def _warnings(settings: Settings) -> list[str]:
    channels = _targets(settings, CHANNEL_KEY)
    said = _button_warnings(settings) if channels else []
    if not channels or (settings.mattermost.url and settings.mattermost.bot_token):
        return said
    return [
        f"Mattermost channel targets {', '.join(channels)} cannot be posted to: "
        "[mattermost] url and bot_token must both be set (BOT_MATTERMOST__URL, "
        "BOT_MATTERMOST__BOT_TOKEN: a bot account's access token)",
        *said,
    ]


SECRET_BYTES = 16
"""Below this, an ``actions_secret`` could be guessed, and with it every button forged."""


def _button_warnings(settings: Settings) -> list[str]:
    """Half of what action buttons need, or a secret too short to trust."""
    secret, public = settings.mattermost.actions_secret, settings.server.public_url
    if secret and not public:
        return [
            "Mattermost posts carry no action buttons: [mattermost] actions_secret is set "
            "but [server] public_url is empty (the bot's address Mattermost calls back, "
            "e.g. https://bot.example.com)"
        ]
    if public and not secret:
        return [
            "Mattermost posts carry no action buttons: set [mattermost] actions_secret "
            "(BOT_MATTERMOST__ACTIONS_SECRET, e.g. openssl rand -hex 32) to sign them"
        ]
    if secret and len(secret.encode()) < SECRET_BYTES:
        return [
            f"[mattermost] actions_secret is under {SECRET_BYTES} bytes: whoever guesses it "
            "can forge clicks; use a long random one (openssl rand -hex 32)"
        ]
    return []


MATTERMOST = Platform(
    name="mattermost",
    preview_module="bot.chat.mattermost.preview",
    markup=MattermostMarkup(),
    target_keys=(
        TargetKey(CHANNEL_KEY, _channel_problem),
        TargetKey(WEBHOOK_KEY, _webhook_problem),
    ),
    # Mattermost limits per user and IP (10 a second by default): a channel stays far below.
    pace=Pace(rate=1.0, burst=5.0),
    adapter=_adapter,
    configured=_configured,
    warnings=_warnings,
    check=check,
    takes_clicks=_takes_clicks,
)
