"""Authorize: who may do what (DESIGN "Who may command").

Anyone in a bound workspace may ``help``, ``list``, ``status``, ``why`` (for what was
meant for their channel) and mute or unmute their own channel. Changing where things
go for everybody (``route``, ``unroute``, ``mute ... everywhere`` and lifting such a
mute), ``replay`` and ``test`` need ``[commands] admins``; with nobody named there they
are refused with a line saying how to name someone. The CLI is the operator's and may
do anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.grammar import (
    CallerPlatform,
    Command,
    Mute,
    Replay,
    Reroute,
    SendTest,
    Unroute,
)
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
    workspace: str = ""
    """The Slack team or Discord guild the command came from (checked by ``Binding``)."""

    @property
    def creator(self) -> str:
        """How the store remembers who set a mute: ``slack:U123 (alice)``."""
        name = f" ({self.user_name})" if self.user_name and self.user_name != self.user else ""
        return f"{self.platform}:{self.user}{name}"


def _admins_only(admins: list[str], what: str, user: str) -> str:
    if not admins:
        return (
            f"only admins may {what}, and none is set: the operator names them in the "
            f'config, [commands] admins = ["{user}"] (or BOT_COMMANDS__ADMINS=\'["{user}"]\')'
        )
    return (
        f"only admins may {what} here; ask one of them ({', '.join(admins)}) "
        "or mute just this channel"
    )


def _is_admin(caller: Caller, admins: list[str]) -> bool:
    return caller.platform == "cli" or caller.user in admins


_ADMIN_ONLY: dict[type, str] = {
    Reroute: "route",
    Unroute: "unroute",
    Replay: "replay",
    SendTest: "send a test message",
}


def denial(command: Command, caller: Caller, admins: list[str]) -> str | None:
    """Why ``caller`` may not run ``command``, or None when they may."""
    if _is_admin(caller, admins):
        return None
    if type(command) in _ADMIN_ONLY:
        return _admins_only(admins, _ADMIN_ONLY[type(command)], caller.user)
    if isinstance(command, Mute) and command.everywhere:
        return _admins_only(admins, "mute everywhere", caller.user)
    return None


def unmute_denial(mute: MuteRecord, caller: Caller, admins: list[str]) -> str | None:
    """Lifting a mute is as open as setting it: its own channel for anyone, else admins."""
    if _is_admin(caller, admins):
        return None
    if mute.everywhere:
        return _admins_only(admins, "lift a mute that covers every channel", caller.user)
    here = channel_forms(caller.platform, caller.channel, caller.channel_name)
    if mute.platform != caller.platform or not here & {mute.channel}:
        where = f"#{mute.channel_name}" if mute.channel_name else mute.channel
        return f"m{mute.id} mutes {where}, not this channel: unmute it there (or ask an admin)"
    return None
