"""``python -m bot explain``: what the bot would do with a payload, sending nothing.

It runs the normalize stage's own ``Planner`` on a request read from a file, so whoever
writes routes and templates sees exactly what the pipeline would store and post. The
signature is not checked and the store is never opened.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path

from jinja2 import TemplateError

from bot.chat import registry
from bot.cli import simulate
from bot.config.settings import Settings
from bot.core.errors import PayloadError
from bot.core.events import Event
from bot.ops.logs import redact
from bot.pipeline.plan import Planner
from bot.providers import PROVIDERS
from bot.render.renderer import Message, Renderer
from bot.store import DeliveryRecord, InboxItem


class ExplainError(Exception):
    """The request cannot be explained; the message names the cause and the fix."""


def parse_headers(lines: Iterable[str]) -> dict[str, str]:
    """``["X-GitHub-Event: push"]`` -> ``{"x-github-event": "push"}`` (how the inbox keeps them)."""
    headers = {"content-type": "application/json"}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ExplainError(f"--header {line!r} is not 'Name: value'")
        headers[name.strip().lower()] = value.strip()
    return headers


def sample_headers(path: Path) -> dict[str, str]:
    """The headers a shipped sample body is sent with (``X-GitHub-Event``...), read from
    its provider's ``samples.toml``, so ``explain bot/providers/github/samples/push.json``
    needs no ``--header``; nothing for any other file."""
    provider = path.resolve().parent.parent.name
    if path.parent.name != "samples" or provider not in PROVIDERS:
        return {}
    for event, sample in simulate.samples(provider).items():
        if sample.body == path.name:
            headers = simulate.fresh(provider, event, time.time()).headers
            return {name.lower(): value for name, value in headers.items()}
    return {}


def explain(settings: Settings, source_name: str, body: bytes, headers: dict[str, str]) -> str:
    """The report ``explain`` prints: events, matched routes, targets, rendered messages."""
    source = settings.sources.get(source_name)
    if source is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise ExplainError(f"no source {source_name!r} in the config (known: {known})")
    item = InboxItem(
        id=0,
        source=source_name,
        delivery_id="explain",
        received_at=time.time(),
        headers=headers,
        body=body,
    )
    planner = Planner(settings, Renderer(settings.templates.dir, markups=registry.markups()))
    try:
        events = planner.normalize(item)
    except PayloadError as exc:
        raise ExplainError(f"{exc} (explain reads the body as the sender would send it)") from None
    if not events:
        return _ignored(source.provider, headers)
    lines: list[str] = []
    for number, event in enumerate(events, start=1):
        lines.append(f"event {number} of {len(events)}: {event.event}")
        lines.extend(_describe_event(event))
        record, deliveries = planner.plan(item, event)
        if reason := record.detail.get("heartbeat"):
            lines.append(f"  heartbeat {reason}")
        elif reason := record.detail.get("ignored"):
            lines.append(f"  ignored   {reason}")
        else:
            lines.extend(_describe_routes(planner, record.detail["routes"]))
        if held := record.detail.get("held"):
            lines.append(f"  held      {held}")
        for delivery in deliveries:
            lines.extend(_describe_delivery(planner.renderer, event, delivery))
        lines.append("")
    lines.append("nothing was sent and nothing was stored")
    return "\n".join(lines)


def _ignored(provider: str, headers: dict[str, str]) -> str:
    supported = ", ".join(PROVIDERS[provider].supported_events)
    given = ", ".join(sorted(h for h in headers if h != "content-type")) or "none"
    return (
        f"ignored: the {provider} provider makes no event from this request, so the bot "
        "would answer 2xx and record it as ignored.\n"
        f"  headers given: {given} (senders that name the event in a header, such as "
        "GitHub's X-GitHub-Event, need --header 'Name: value')\n"
        f"  supported: {supported or 'any JSON'}"
    )


def _describe_event(event: Event) -> list[str]:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(event.labels.items()))
    rows = [
        ("source", f"{event.source} ({event.provider})"),
        ("title", event.title),
        ("text", event.text),
        ("severity", event.severity),
        ("status", event.status),
        ("actor", event.actor),
        ("url", event.url),
        ("labels", labels),
        ("thread", event.thread_key),
        ("occurred", event.occurred_at.astimezone(UTC).isoformat(timespec="seconds")),
    ]
    return [f"  {name:<9} {value}" for name, value in rows if value]


def _describe_routes(planner: Planner, matched: list[int]) -> list[str]:
    if not matched:
        return ["  routes    none match: the event would be stored and counted, not posted"]
    routes = planner.router.routes
    return [f"  route {index + 1:<3} {routes[index].describe()}" for index in sorted(set(matched))]


def _describe_delivery(renderer: Renderer, event: Event, delivery: DeliveryRecord) -> list[str]:
    try:
        template = renderer.template_for(event, delivery.platform).name
    except TemplateError as exc:
        template = f"none ({exc})"
    message = Message.model_validate(delivery.message)
    lines = [
        f"  -> {delivery.target}: {delivery.platform} {redact(delivery.address)} "
        f"(lifecycle {delivery.lifecycle}, template {template})",
        f"       first   {message.headline}",
        f"       title   {message.title}",
    ]
    if message.url:
        lines.append(f"       url     {message.url}")
    for number, text in enumerate(message.text.splitlines()):
        lines.append(f"       {'text' if number == 0 else '':<7} {text}")
    for number, field in enumerate(message.fields):
        lines.append(f"       {'fields' if number == 0 else '':<7} {field.name}: {field.value}")
    lines.append(f"       color   {message.color}")
    if message.footer:
        lines.append(f"       footer  {message.footer}")
    return lines
