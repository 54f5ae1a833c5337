"""Which channel a target posts into, where its address alone does not say.

A Discord webhook URL names a webhook, not a channel, yet a mute issued in a channel
must cover every target posting there. The Discord adapter learns each webhook's
channel (asking Discord at start, and from every message it posts); routing and the
command core read it here.
"""

from __future__ import annotations

from collections.abc import Callable


class ChannelDirectory:
    def __init__(self) -> None:
        self._channels: dict[str, str] = {}
        self.listeners: list[Callable[[str, str], None]] = []
        """Told each new or changed entry: the planner process keeps a copy."""

    def learn(self, address: str, channel: str) -> None:
        if channel and self._channels.get(address) != channel:
            self._channels[address] = channel
            for listener in self.listeners:
                listener(address, channel)

    def known(self) -> dict[str, str]:
        return dict(self._channels)

    def channel_of(self, address: str) -> str | None:
        return self._channels.get(address)

    def knows(self, address: str) -> bool:
        return address in self._channels
