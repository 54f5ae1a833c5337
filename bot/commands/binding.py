"""Bind: commands are accepted only from the workspaces (Slack) and guilds (Discord) this
bot serves.

An app can be installed in workspaces and guilds its operator never chose, and every
one of them can send a correctly signed command. Each platform's ``[<platform>]`` list
(``team_ids``, ``guild_ids``) names the accepted ones; an empty list means the ones the
bot's own configuration points at, which the platform is asked once (Slack's
``auth.test``, the guild of each Discord channel target) and which are asked again
after a failed attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.errors import LookupFailed

log = logging.getLogger("bot.commands")


@dataclass(frozen=True)
class Workspaces:
    """How one platform answers: which workspaces the bot's configuration points at, and
    which workspace a channel is in."""

    noun: str
    """What the platform calls one (``workspace``, ``guild``)."""
    setting: str
    """Where an operator lists them (``[slack] team_ids``)."""
    own: Callable[[], Awaitable[frozenset[str]]]
    channel_home: Callable[[str], Awaitable[str]]


Refused = Callable[[str, str], None]
"""Told (platform, reason) each time a command is refused for where it came from."""


class Binding:
    """The workspaces of one platform whose commands are accepted."""

    def __init__(self, platform: str, configured: list[str], workspaces: Workspaces) -> None:
        self.platform = platform
        self.workspaces = workspaces
        self._ids = frozenset(configured) if configured else None

    async def ids(self) -> frozenset[str]:
        """The accepted ids; raises ``LookupFailed`` when they are still to be learned and
        the platform does not answer."""
        if self._ids is None:
            learned = await self.workspaces.own()
            if not learned:
                raise LookupFailed(f"the configuration points at no {self.workspaces.noun}")
            self._ids = learned
            log.info(
                "commands bound", extra={"platform": self.platform, "workspaces": sorted(learned)}
            )
        return self._ids

    async def refusal(self, workspace: str) -> tuple[str, str] | None:
        """(reason for the log and the metric, what the caller reads), or None to accept."""
        noun, setting = self.workspaces.noun, self.workspaces.setting
        if not workspace:
            return "no workspace", f"commands are accepted only from within a {noun}"
        try:
            accepted = await self.ids()
        except LookupFailed as exc:
            return "unknown workspaces", (
                f"this bot cannot tell which {noun}s it serves yet ({exc}); "
                f"its operator can list them in {setting}"
            )
        if workspace in accepted:
            return None
        return "unbound workspace", (
            f"this {noun} ({workspace}) is not one this bot takes commands from; "
            f"its operator can add it to {setting}"
        )

    async def same_home(self, channel: str, workspace: str) -> bool:
        """Whether ``channel`` is in ``workspace`` (False when the platform cannot say)."""
        try:
            return await self.workspaces.channel_home(channel) == workspace
        except LookupFailed:
            return False
