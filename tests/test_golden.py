"""Golden files: what each sample posts on every chat platform, as reviewed JSON.

Every sample in ``bot/providers/<provider>/samples/`` is normalized, rendered and turned
into the body each platform's adapter sends (the first message, to a Discord channel
with its link buttons, to a Mattermost channel, a Telegram chat and a Teams webhook,
and, for a conversation, the thread reply where the platform threads; Teams cannot).
One file per sample holds every platform. A change to a template, the renderer or an
adapter shows as a diff of ``tests/golden/``;
``python -m pytest tests/test_golden.py --update-golden`` rewrites the files after the
change has been looked at.
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, NamedTuple
from unittest.mock import patch

import pytest

from bot.chat.discord.adapter import channel_payload as discord_payload
from bot.chat.discord.adapter import message_payload as discord_reply_payload
from bot.chat.mattermost.adapter import post_body as mattermost_payload
from bot.chat.registry import PLATFORMS, markups
from bot.chat.slack.adapter import message_payload as slack_payload
from bot.chat.teams.adapter import payload as teams_payload
from bot.chat.telegram.adapter import payload as telegram_payload
from bot.cli import simulate
from bot.config.settings import source_config
from bot.pipeline.conversations import thread_reply
from bot.pipeline.heartbeats import alarm_message, recovered_message
from bot.providers import PROVIDERS
from bot.providers.base import WebhookRequest
from bot.render.renderer import Message, Renderer
from bot.store import HeartbeatRecord
from tests.processes import ROOT

GOLDEN = Path(__file__).parent / "golden"
NOW = 1_700_000_000.0
"""Every sample's ``{now}``: the files do not change from one run to the next."""

FILL = {
    "{uuid}": "00000000-0000-4000-8000-000000000000",
    "{now}": "2023-11-14T22:13:20.000000Z",
    "{now_unix}": int(NOW),
    "{now_ms}": str(int(NOW * 1000)),
}

EXAMPLE = tomllib.loads((ROOT / "config.example.toml").read_text())
SOURCE_KEYS: dict[str, dict[str, Any]] = {
    "generic": {"token": "t", "fields": EXAMPLE["sources"]["deploys"]["fields"]},
    "grafana": {"token": "t"},
    "alertmanager": {"token": "t"},
    "datadog": {"token": "t"},
    "heartbeat": {"token": "t", "heartbeat": "1h", "heartbeat_to": "eng"},
}
SAMPLES = [(name, event) for name in PROVIDERS for event in simulate.sample_events(name)]


class Bodies(NamedTuple):
    """How a platform's adapter turns a message into what it sends."""

    first: Any
    reply: Any = None
    """The thread reply's body; ``None`` where the platform cannot thread."""


BODIES: dict[str, Bodies] = {
    "slack": Bodies(slack_payload, slack_payload),
    "discord": Bodies(discord_payload, discord_reply_payload),
    "mattermost": Bodies(mattermost_payload, mattermost_payload),
    "telegram": Bodies(telegram_payload, telegram_payload),
    "teams": Bodies(teams_payload),
}


def entry(kind: str, render: Any, threads: bool, elapsed: float | None = None) -> dict[str, Any]:
    """One event's bodies on every platform: ``render(platform)`` is its message there;
    with ``threads``, each platform that threads shows its reply too."""
    out: dict[str, Any] = {"event": kind}
    for name, bodies in BODIES.items():
        message: Message = render(name)
        out[name] = bodies.first(message)
        if threads and bodies.reply is not None:
            out[f"{name}_reply"] = bodies.reply(thread_reply(message, elapsed))
    return out


RENDERER = Renderer(markups=markups())
"""One renderer for every sample, as the bot has: each template is compiled once."""


@functools.cache
def rendered(provider: str, event_name: str) -> dict[str, Any]:
    """What the adapters would send for one sample, per event it normalizes to. Cached:
    the golden test and the no-noise checks read the same bodies (and do not change them)."""
    sample = simulate.fresh(provider, event_name, NOW, fill=FILL)
    body = sample.body
    headers = {k.lower(): v for k, v in sample.headers.items()}
    source = source_config(provider=provider, **SOURCE_KEYS.get(provider, {"secret": "s"}))
    request = WebhookRequest(headers, body)
    if PROVIDERS[provider].ping:
        return {"sample": f"{provider}/{event_name}", "messages": silence_and_recovery(source)}
    with frozen_now():  # an event whose payload names no time (a tag push) happened now
        events = PROVIDERS[provider].normalize("sample", source, request, request.json())
    out = [
        entry(
            event.event,
            lambda platform, event=event: RENDERER.render(event, platform),
            event.thread_key is not None,
        )
        for event in events
    ]
    return {"sample": f"{provider}/{event_name}", "messages": out}


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _Frozen:
        return cls.fromtimestamp(NOW, tz)


@contextmanager
def frozen_now() -> Iterator[None]:
    """``datetime.now`` is ``NOW`` wherever an event's time defaults to it."""
    with patch("bot.core.events.datetime", _Frozen), patch("bot.providers.base.datetime", _Frozen):
        yield


def silence_and_recovery(source: Any) -> list[dict[str, Any]]:
    """A ping is never posted: what its ``heartbeat_to`` reads is the alarm when pings
    stop (last one an hour before), and the recovery that edits it and replies under it."""
    switch = HeartbeatRecord(
        source="sample", watched_since=NOW - 7200, last_at=NOW - 3600, alarm_at=None
    )
    return [
        entry(
            "heartbeat.silent",
            lambda platform: alarm_message("sample", source, switch, platform),
            threads=False,
        ),
        entry(
            "heartbeat.recovered",
            lambda platform: recovered_message("sample", NOW, NOW + 600, platform),
            threads=True,
            elapsed=600,
        ),
    ]


@pytest.mark.parametrize(("provider", "event"), SAMPLES)
def test_each_sample_posts_what_its_golden_file_shows(request, provider, event):
    path = GOLDEN / provider / f"{event}.json"
    now = json.dumps(rendered(provider, event), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(now, "utf-8")
    assert path.exists(), f"no golden file for {provider}/{event}: run with --update-golden"
    assert now == path.read_text("utf-8"), (
        f"{provider}/{event} renders differently from {path.name}: look at the diff, then "
        "python -m pytest tests/test_golden.py --update-golden"
    )


def test_every_golden_file_has_its_sample():
    kept = {f"{p.parent.name}/{p.stem}" for p in GOLDEN.glob("*/*.json")}
    assert kept - {f"{p}/{e}" for p, e in SAMPLES} == set()


def test_every_platform_has_its_place_in_the_golden_files():
    assert list(BODIES) == list(PLATFORMS)
