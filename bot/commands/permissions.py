"""Authorize: who may do what.

With ``[commands] admins`` empty everyone may do everything. Once it names anyone, only
they may change routing for everybody (``route``, ``unroute``, ``mute ... everywhere``
and lifting such a mute); anyone may still mute and unmute their own channel. The CLI is
the operator's and may do anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.grammar import CallerPlatform, Command, Mute, Reroute, Unroute
from bot.pipeline.overrides import channel_forms
from bot.store import MuteRecord


@dataclass(frozen=True)
class Caller:
    """Who typed a command, and in which channel (empty from the CLI)."""

    platform: CallerPlatform
    user: str
    user_name: str = ""
    channel: str = ""
    channel_name: str = ""

    @property
    def creator(self) -> str:
        """How the store remembers who set a mute: ``slack:U123 (alice)``."""
        name = f" ({self.user_name})" if self.user_name and self.user_name != self.user else ""
        return f"{self.platform}:{self.user}{name}"


def _admins_only(admins: list[str], what: str) -> str:
    return (
        f"only admins may {what} here; ask one of them ({', '.join(admins)}) "
        "or mute just this channel"
    )


def denial(command: Command, caller: Caller, admins: list[str]) -> str | None:
    """Why ``caller`` may not run ``command``, or None when they may."""
    if caller.platform == "cli" or not admins or caller.user in admins:
        return None
    if isinstance(command, Reroute | Unroute):
        return _admins_only(admins, "route or unroute")
    if isinstance(command, Mute) and command.everywhere:
        return _admins_only(admins, "mute everywhere")
    return None


def unmute_denial(mute: MuteRecord, caller: Caller, admins: list[str]) -> str | None:
    """Lifting a mute is as open as setting it: its own channel for anyone, else admins."""
    if caller.platform == "cli" or not admins or caller.user in admins:
        return None
    if mute.everywhere:
        return _admins_only(admins, "lift a mute that covers every channel")
    here = channel_forms(caller.platform, caller.channel, caller.channel_name)
    if mute.platform != caller.platform or not here & {mute.channel}:
        where = f"#{mute.channel_name}" if mute.channel_name else mute.channel
        return f"m{mute.id} mutes {where}, not this channel: unmute it there (or ask an admin)"
    return None
