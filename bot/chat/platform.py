"""What the rest of the bot knows about a chat platform, as one object per platform.

Everything platform-specific outside the adapter is data or a small function here, so
routing, commands, rendering and configuration never branch on a platform's name, and
a new platform is its folder plus one line in ``bot.chat.registry``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from bot.core.pacing import Pace
from bot.render.renderer import Formatter, Markup

if TYPE_CHECKING:  # the settings read the registry's target keys: no import at run time
    import aiohttp

    from bot.chat import ChatAdapter
    from bot.chat.directory import ChannelDirectory
    from bot.chat.preview import Preview
    from bot.config.settings import Settings
    from bot.core.clock import Clock


@dataclass(frozen=True)
class TargetKey:
    """A key of a ``[targets.NAME]`` table that names a place on this platform."""

    name: str
    problem: Callable[[str], str | None] = lambda address: None
    """What is wrong with an address given under this key (the config error), if anything."""
    extras: tuple[str, ...] = ()
    """Keys that may go with this one in a target table (a Telegram ``topic``); given,
    each is folded into the address as ``?key=value``, so the address alone says where."""


@dataclass(frozen=True)
class Finding:
    """One thing a platform's start-up check learnt: it works, or what to fix."""

    ok: bool
    text: str


def unasked_webhooks(settings: Settings, key: str, answer: str, test_posts: str) -> list[Finding]:
    """What ``doctor`` says of a platform's webhook targets: a webhook has no question to
    answer without posting, so each is named with the command that would post a test."""
    return [
        Finding(
            True,
            f"target {name!r}: not asked ({answer}); python -m bot test {name} {test_posts}",
        )
        for name, target in settings.targets.items()
        if target.key == key
    ]


Check = Callable[["ChatAdapter", "Settings"], Coroutine[Any, Any, list[Finding]]]
"""Asks the platform, posting nothing, whether the token works and each target is
reachable (``python -m bot doctor``, and in the background at start)."""

AdapterFactory = Callable[
    ["Settings", "aiohttp.ClientSession", "ChannelDirectory", "Clock"], "ChatAdapter"
]
"""The platform's adapter, built once the platform is ``configured``; ``clock`` times
any waiting it does itself (Discord's rate-limit holds)."""


@dataclass(frozen=True)
class Platform:
    name: str
    """As stored with every delivery and mute, and in lane keys: never rename one."""

    markup: Markup
    target_keys: tuple[TargetKey, ...]
    pace: Pace
    """Each lane's budget (one lane per channel or webhook, as the adapter's ``lane``
    says): what the platform tolerates, so pacing alone never draws a 429."""

    adapter: AdapterFactory
    configured: Callable[[Settings], bool]
    """Whether deliveries to it can go out (else no adapter is built, and they wait as
    dead letters)."""

    warnings: Callable[[Settings], list[str]] = lambda settings: []
    """What an operator should fix about it, said once at start."""

    lane_pace: Callable[[str], Pace] | None = None
    """A lane's own budget where lanes differ (a Telegram group's 20 a minute)."""

    background: Callable[[ChatAdapter, Settings], Coroutine[Any, Any, None] | None] = (
        lambda adapter, settings: None
    )
    """Work the adapter does while the bot runs (e.g. learning which channel each webhook
    posts into), if any."""

    check: Check | None = None
    """What can be checked before the first post (token, targets), if anything."""

    takes_clicks: Callable[[Settings], bool] = lambda settings: False
    """Whether clicks on its buttons reach the bot (its interactions endpoint is set up);
    where they cannot, messages carry no action buttons."""

    names_channels: bool = False
    """Whether a target may name a channel by ``#name`` as well as by its id."""

    mention: re.Pattern[str] | None = None
    """A channel mention as a command receives it: group 1 the id, group 2 the name."""

    mention_precedence: int = 0
    """Where a mention is read by several platforms' patterns and the caller is on none
    of them (the command line), the highest precedence reads it."""

    preview_module: str | None = None
    """The module whose ``PREVIEW`` shows it in ``python -m bot gallery`` and the
    inspector; without one, its calls are listed as JSON. Named, not imported: the
    drawing code is imported by what draws, not by every command reading the config."""

    formatter: Formatter = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "formatter", Formatter(self.markup))

    @property
    def preview(self) -> Preview | None:
        """How the gallery shows it (``preview_module``'s ``PREVIEW``), if it has one."""
        from bot.chat.preview import Preview

        if self.preview_module is None:
            return None
        preview = import_module(self.preview_module).PREVIEW
        assert isinstance(preview, Preview), f"{self.preview_module}.PREVIEW is no Preview"
        return preview
