"""One event the bot has, as each chat platform would show it: the inspector's preview.

The stored request is planned again with the bot's own config (its source, templates
and people) by the normalize stage's ``Planner``, and the event's message is posted by
the real adapters to the recorder, once per registered platform, as the first message
of its conversation.
"""

from __future__ import annotations

import aiohttp

from bot.chat import registry
from bot.chat.directory import ChannelDirectory
from bot.config.settings import Settings
from bot.core.errors import DeliveryError
from bot.ops.gallery.config import run_settings
from bot.ops.gallery.page import Channel, Gallery, Section
from bot.ops.gallery.recorder import Recorder
from bot.pipeline.plan import Planner
from bot.render.renderer import Message, Renderer
from bot.store import InboxItem


class NoSuchEvent(Exception):
    """The request no longer yields the event (its source was removed or changed)."""


async def event_gallery(user: Settings, item: InboxItem, event_id: str) -> Gallery:
    """The gallery of one event of ``item``: a channel per registered platform."""
    if item.source not in user.sources:
        raise NoSuchEvent(f"source {item.source!r} is no longer configured")
    gallery = Gallery()
    async with Recorder().running() as recorder:
        platforms = [n for n, p in registry.PLATFORMS.items() if p.preview is not None]
        settings = run_settings(user, recorder, platforms, {"lifecycle": "new"})
        planner = Planner(settings, Renderer(settings.templates.dir, markups=registry.markups()))
        events = [e for e in planner.normalize(item) if e.id == event_id]
        if not events:
            raise NoSuchEvent(f"request {item.id} no longer yields event {event_id}")
        record, deliveries = planner.plan(item, events[0])
        refused: dict[str, str] = {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            adapters = registry.adapters(settings, session, ChannelDirectory())
            for delivery in deliveries:
                message = Message.model_validate(delivery.message)
                try:
                    await adapters[delivery.platform].post(delivery.address, message)
                except DeliveryError as exc:
                    refused[delivery.platform] = f"not posted: {exc.reason}"
        unposted = str(record.detail.get("heartbeat") or "posts nothing")
        for name, platform in registry.PLATFORMS.items():
            if platform.preview is None:
                gallery.add(name, name, [])
                continue
            calls = recorder.calls[name]
            note = refused.get(name) or ("" if calls else unposted)
            channel = Channel(f"{name}-event", record.title, note, calls)
            gallery.add(name, platform.preview.client, [Section(f"{name}-preview", "", [channel])])
    return gallery
