"""The config of a gallery run: the bot's own sources and templates, and targets that
post to the recorder.

The config's sources keep their names and keys (a generic source's field mapping, an
API token that makes action buttons appear), and every provider without one gets a
source named after it. Their heartbeats are left out: a run's clock jumps hours, and
only the run that shows a silence should raise an alarm.
"""

from __future__ import annotations

from typing import Any

from bot.config.settings import Settings
from bot.ops.gallery.recorder import Recorder
from bot.providers import PROVIDERS

HEARTBEAT_KEYS = ("heartbeat", "heartbeat_to", "heartbeat_event", "heartbeat_labels")
SILENCE = "10m"
"""How long a watched source may be silent in a run."""


def credentials(provider: str) -> dict[str, Any]:
    """Credentials of a kind the provider accepts (never checked: runs start after the
    intake)."""
    kinds = PROVIDERS[provider].config.credentials
    if "token" in kinds:
        return {"token": "gallery"}
    if "secret" in kinds:
        return {"secret": "gallery"}
    return {"username": "gallery", "password": "gallery"}


def source_names(user: Settings) -> dict[str, str]:
    """Each provider's source: the config's first of that provider, else its own name."""
    names = {provider: provider for provider in PROVIDERS}
    for name, source in sorted(user.sources.items(), reverse=True):
        names[source.provider] = name
    return names


def run_settings(
    user: Settings,
    recorder: Recorder,
    platforms: list[str],
    route: dict[str, Any] | None = None,
    watched: str = "",
) -> Settings:
    """One target per platform (named after it) and one route to all of them, with
    ``route``'s keys; the sources of provider ``watched`` (and every ping source, which
    needs one) watch for silence, reported to the first platform's target."""
    chat = recorder.chat_config()
    sources: dict[str, Any] = {
        name: source.model_dump(exclude_unset=True) for name, source in user.sources.items()
    }
    for provider, name in source_names(user).items():
        sources.setdefault(name, {"provider": provider, **credentials(provider)})
    for keys in sources.values():
        for key in HEARTBEAT_KEYS:
            keys.pop(key, None)
        if keys["provider"] == watched or PROVIDERS[keys["provider"]].ping:
            keys.update(heartbeat=SILENCE, heartbeat_to=platforms[0])
    return Settings(
        **{key: value for key, value in chat.items() if key != "targets"},
        sources=sources,
        targets={name: chat["targets"][name] for name in platforms},
        routes=[{"to": platforms, **(route or {})}],
        templates=user.templates.model_dump(),
        people=user.people,
    )
