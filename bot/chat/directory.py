"""Which channel a target posts into, where its address alone does not say.

A Discord webhook URL names a webhook, not a channel, yet a mute issued in a channel
must cover every target posting there. The Discord adapter learns each webhook's
channel (asking Discord at start, and from every message it posts); routing and the
command core read it here.
"""

from __future__ import annotations


class ChannelDirectory:
    def __init__(self) -> None:
        self._channels: dict[str, str] = {}

    def learn(self, address: str, channel: str) -> None:
        if channel:
            self._channels[address] = channel

    def channel_of(self, address: str) -> str | None:
        return self._channels.get(address)

    def knows(self, address: str) -> bool:
        return address in self._channels
