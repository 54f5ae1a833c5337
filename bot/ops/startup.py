"""What start-up tells the operator: where senders post, what to fix, what is off.

Apart from ``bot.app`` so that ``check-config`` says what ``serve`` will, without
importing the web app (aiohttp, every chat front end) to say it.
"""

from __future__ import annotations

import os

from bot.chat import registry
from bot.chat.slack.platform import http_mode, socket_mode
from bot.config.settings import Settings
from bot.config.source import WEAK_SECRET_BYTES
from bot.pipeline.route import route_warnings
from bot.store import is_shared


def hook_paths(settings: Settings) -> dict[str, str]:
    """The URL path each source's sender posts to, by source name."""
    return {name: f"/hooks/{name}" for name in settings.sources}


def startup_warnings(settings: Settings) -> list[str]:
    """Things an operator should fix, said once at start."""
    warnings = []
    if placeholders := settings.placeholder_secrets():
        warnings.append(
            f"{len(placeholders)} of {len(settings.sources)} sources still use the placeholder "
            f"secret 'change-me' ({', '.join(placeholders)}): set real ones in the config "
            "or as BOT_SOURCES__<NAME>__SECRET"
        )
    warnings.extend(
        f"source {name!r} has a secret or token under {WEAK_SECRET_BYTES} bytes: anyone who "
        "guesses it can send as the sender; use a long random one (openssl rand -hex 32)"
        for name in settings.weak_secrets()
    )
    warnings.extend(route_warnings(settings))
    for platform in registry.PLATFORMS.values():
        warnings.extend(platform.warnings(settings))
    if os.environ.get("DYNO") and not is_shared(settings.store.url):
        warnings.append(
            "running on Heroku with SQLite: the dyno disk is wiped on every restart; "
            "add Heroku Postgres (DATABASE_URL) so accepted events survive"
        )
    return warnings


def optional_features_off(settings: Settings) -> list[str]:
    """What is off until its setting is given: said once at start, so nobody hunts for it."""
    features = {
        "Slack /notify ([slack] signing_secret or app_token)": http_mode(settings)
        or socket_mode(settings),
        "Discord /notify ([discord] public_key)": bool(settings.discord.public_key),
        "Mattermost /notify ([mattermost] command_token)": bool(settings.mattermost.command_token),
        "Telegram /notify ([telegram] webhook_secret)": bool(settings.telegram.webhook_secret),
        "the inspector at /inspect ([inspector] token)": bool(settings.inspector.token),
    }
    return [feature for feature, on in features.items() if not on]
