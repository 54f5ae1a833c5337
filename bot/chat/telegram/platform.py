"""Telegram as the registry knows it: a target is ``telegram = CHAT_ID`` (``-100...`` for
a supergroup or channel, or ``@channelusername``), with ``topic = N`` for a forum topic.

The topic is folded into the address (``-1001234567890?topic=42``), the same form a
command from that topic names its channel with, so a mute issued in a topic covers the
target posting there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.chat.platform import Platform, TargetKey
from bot.chat.telegram.check import check
from bot.chat.telegram.markup import TelegramMarkup
from bot.core.pacing import Pace

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings
    from bot.core.clock import Clock

KEY = "telegram"
TOPIC = "topic"
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z]\w{3,31})$")
_ADDRESS = re.compile(r"^(?P<chat>[^?]+)(?:\?topic=(?P<topic>\d{1,12}))?$")

CHAT_PACE = Pace(rate=1.0, burst=3.0)
"""Telegram: "avoid sending more than one message per second" in a chat."""
GROUP_PACE = Pace(rate=0.25, burst=5.0)
"""Groups: no more than 20 messages a minute. A bucket lets at most ``burst + 60 * rate``
through in any minute: 5 + 15 = 20."""


@dataclass(frozen=True)
class Address:
    chat_id: str
    topic: int | None = None

    @classmethod
    def parse(cls, address: str) -> Address:
        match = _ADDRESS.match(address)
        if match is None:
            return cls(address)
        topic = match["topic"]
        return cls(match["chat"], int(topic) if topic else None)

    def fields(self) -> dict[str, Any]:
        """Where ``sendMessage`` posts: the chat, and the forum topic if any."""
        where: dict[str, Any] = {"chat_id": self.chat_id}
        if self.topic is not None:
            where["message_thread_id"] = self.topic
        return where

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels have negative ids (or an ``@`` username)."""
        return self.chat_id.startswith(("-", "@"))


def channel_of(chat_id: Any, topic: Any) -> str:
    """How a chat (and a forum topic in it) is named as a target address and a channel."""
    return f"{chat_id}?topic={topic}" if topic else str(chat_id)


def _problem(address: str) -> str | None:
    match = _ADDRESS.match(address)
    if match and _CHAT.match(match["chat"]):
        return None
    return (
        "telegram needs a chat id (digits, -100... for a group or channel: forward a "
        "message from it to @userinfobot) or a public channel's @username; "
        "a forum topic goes in `topic = N`"
    )


def _configured(settings: Settings) -> bool:
    return bool(settings.telegram.bot_token)


def _adapter(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock,
) -> ChatAdapter:
    from bot.chat.telegram.adapter import TelegramAdapter

    return TelegramAdapter(settings.telegram.api_url, settings.telegram.bot_token, session)


def _warnings(settings: Settings) -> list[str]:
    targets = [name for name, target in settings.targets.items() if target.platform == KEY]
    if not targets or settings.telegram.bot_token:
        return []
    return [
        f"Telegram targets {', '.join(targets)} cannot be posted to: [telegram] bot_token "
        "is empty (set BOT_TELEGRAM__BOT_TOKEN to the token @BotFather gave)"
    ]


def _takes_clicks(settings: Settings) -> bool:
    """Callback buttons need the webhook (clicks come as ``callback_query`` updates on
    ``/telegram/updates``) and a target to draw them in."""
    telegram = settings.telegram
    targets = any(target.platform == KEY for target in settings.targets.values())
    return bool(telegram.bot_token and telegram.webhook_secret and targets)


def _lane_pace(lane: str) -> Pace:
    return GROUP_PACE if Address.parse(lane.partition(":")[2]).is_group else CHAT_PACE


TELEGRAM = Platform(
    name=KEY,
    preview_module="bot.chat.telegram.preview",
    markup=TelegramMarkup(),
    target_keys=(TargetKey(KEY, _problem, extras=(TOPIC,)),),
    pace=CHAT_PACE,
    lane_pace=_lane_pace,
    adapter=_adapter,
    configured=_configured,
    warnings=_warnings,
    check=check,
    takes_clicks=_takes_clicks,
)
