"""Slack as the registry knows it: a target is ``slack = CHANNEL`` (an id or ``#name``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.chat.platform import Platform, TargetKey
from bot.chat.slack.check import check
from bot.chat.slack.markup import SlackMarkup
from bot.core.pacing import Pace

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings
    from bot.core.clock import Clock


def _configured(settings: Settings) -> bool:
    return bool(settings.slack.bot_token)


def http_mode(settings: Settings) -> bool:
    """Slack posts commands and clicks to the bot's ``/slack/...`` endpoints."""
    return bool(settings.slack.bot_token and settings.slack.signing_secret)


def socket_mode(settings: Settings) -> bool:
    """The bot receives commands and clicks over a Socket Mode connection."""
    return bool(settings.slack.bot_token and settings.slack.app_token)


def _takes_clicks(settings: Settings) -> bool:
    slack = settings.slack
    return bool(slack.bot_token and (slack.signing_secret or slack.app_token))


def _adapter(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock,
) -> ChatAdapter:
    # Imported here: the settings read this module for the target keys, and need not
    # load slack_sdk for that.
    from bot.chat.slack.adapter import SlackAdapter

    return SlackAdapter(settings.slack.bot_token, settings.slack.api_url, session)


def _warnings(settings: Settings) -> list[str]:
    if _configured(settings):
        return []
    return [
        "Slack delivery is disabled: [slack] bot_token is empty "
        "(set BOT_SLACK__BOT_TOKEN); Slack deliveries wait as dead letters to replay"
    ]


SLACK = Platform(
    name="slack",
    preview_module="bot.chat.slack.preview",
    markup=SlackMarkup(),
    target_keys=(TargetKey("slack"),),
    # About one message per second per channel, with short bursts.
    pace=Pace(rate=1.0, burst=5.0),
    adapter=_adapter,
    configured=_configured,
    takes_clicks=_takes_clicks,
    check=check,
    warnings=_warnings,
    names_channels=True,
    mention=re.compile(r"^<#([A-Z0-9]+)(?:\|([^>]*))?>$"),
)
