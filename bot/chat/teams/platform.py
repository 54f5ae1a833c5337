"""Microsoft Teams as the registry knows it: ``teams_webhook = URL``, a Workflows
("Post to a channel when a webhook request is received") webhook, used whole: its
query string (``sig=...``) is its credential."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.chat.platform import Platform, TargetKey
from bot.chat.teams.check import check
from bot.chat.teams.markup import TeamsMarkup
from bot.core.pacing import Pace

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings
    from bot.core.clock import Clock

WEBHOOK_KEY = "teams_webhook"
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _problem(address: str) -> str | None:
    if _URL.match(address):
        return None
    return (
        "teams_webhook is not a URL: in Teams, the channel's ... -> Workflows -> "
        '"Post to a channel when a webhook request is received", then copy the whole URL'
    )


def _configured(settings: Settings) -> bool:
    return True  # a webhook URL is all it needs


def _adapter(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock,
) -> ChatAdapter:
    from bot.chat.teams.adapter import TeamsAdapter

    return TeamsAdapter(session)


TEAMS = Platform(
    name="teams",
    preview_module="bot.chat.teams.preview",
    markup=TeamsMarkup(),
    target_keys=(TargetKey(WEBHOOK_KEY, _problem),),
    # Power Automate throttles a flow well above this; a channel stays readable.
    pace=Pace(rate=1.0, burst=4.0),
    adapter=_adapter,
    configured=_configured,
    check=check,
)
