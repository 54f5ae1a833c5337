"""Every chat platform the bot can post to, by name: the one list to extend.

A platform is its folder (``bot/chat/<name>/``) and a line in ``PLATFORMS``; nothing is
discovered by scanning. ``registered`` adds one for a while, for a test or an embedding
that brings its own, without patching anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.chat.discord.platform import DISCORD
from bot.chat.mattermost.platform import MATTERMOST
from bot.chat.platform import Platform, TargetKey
from bot.chat.slack.platform import SLACK
from bot.chat.teams.platform import TEAMS
from bot.chat.telegram.platform import TELEGRAM
from bot.core.clock import Clock, SystemClock
from bot.core.pacing import Pace
from bot.render.renderer import Formatter, Markup

if TYPE_CHECKING:
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.config.settings import Settings

PLATFORMS: dict[str, Platform] = {
    "slack": SLACK,
    "discord": DISCORD,
    "mattermost": MATTERMOST,
    "telegram": TELEGRAM,
    "teams": TEAMS,
}

DEFAULT_PACE = Pace()
"""For a lane whose platform is not registered (its deliveries fail as not configured)."""


@contextmanager
def registered(platform: Platform) -> Iterator[Platform]:
    """``platform`` is known for the length of the block."""
    if platform.name in PLATFORMS:
        raise ValueError(f"a platform named {platform.name!r} is registered already")
    PLATFORMS[platform.name] = platform
    try:
        yield platform
    finally:
        del PLATFORMS[platform.name]


def adapters(
    settings: Settings,
    session: aiohttp.ClientSession,
    directory: ChannelDirectory,
    clock: Clock | None = None,
) -> dict[str, ChatAdapter]:
    """An adapter for every registered platform that is configured, waiting on ``clock``
    (the machine's time unless given)."""
    return {
        name: platform.adapter(settings, session, directory, clock or SystemClock())
        for name, platform in PLATFORMS.items()
        if platform.configured(settings)
    }


def target_keys() -> dict[str, tuple[Platform, TargetKey]]:
    """Every key a target may name its place with, in registry order."""
    return {key.name: (p, key) for p in PLATFORMS.values() for key in p.target_keys}


def markups() -> Mapping[str, Markup]:
    return {name: platform.markup for name, platform in PLATFORMS.items()}


def formatter(name: str) -> Formatter:
    return PLATFORMS[name].formatter


def pace(name: str, lane: str = "") -> Pace:
    """The budget of ``lane`` (a lane of platform ``name``)."""
    platform = PLATFORMS.get(name)
    if platform is None:
        return DEFAULT_PACE
    return platform.lane_pace(lane) if platform.lane_pace and lane else platform.pace


def caller_platform(name: str) -> str:
    """The platform a command's bare ``#channel`` means: the caller's own, else (from the
    command line) the first registered."""
    return name if name in PLATFORMS else next(iter(PLATFORMS))
