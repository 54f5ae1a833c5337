"""The action buttons a message carries: what ``bot.providers.actions`` offers in the
conversation's state, on a platform whose clicks reach the bot.

The planner puts them on the first message; the action core puts them on every message
it re-renders after a click. Each button's value is the delivery it was first shown on,
which leads back to the event, its source and its conversation.
"""

from __future__ import annotations

from bot.chat import registry
from bot.config.settings import Settings
from bot.providers.actions import KINDS, State, offered
from bot.render.renderer import Button


def buttons(
    settings: Settings, source: str, state: State, platform: str, value: str
) -> list[Button]:
    known = registry.PLATFORMS.get(platform)
    if known is None or not known.takes_clicks(settings):
        return []
    config = settings.sources.get(source)
    provider = config.provider if config is not None else ""
    return [
        Button(action=name, label=KINDS[name].label, value=value, style=KINDS[name].style)
        for name in offered(provider, config, state, ours=True)
    ]
