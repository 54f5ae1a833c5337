"""``python -m bot gallery``: every sample and the main lifecycles, as each chat client
shows them, on one HTML page (and, with ``--png``, as pictures).

For each registered chat platform, the real pipeline runs on a store of its own with a
clock the gallery moves (``bot.ops.gallery.run``), the real adapters post to a recorder
on 127.0.0.1 (``bot.ops.gallery.recorder``), and the page draws the JSON they sent
(each platform's ``preview``). A lifecycle is a list of requests at given times:
a pull request's story, an incident's, an alert's, a storm of 40 alerts, a silent cron
job, a night of quiet hours. The config's own sources (their keys, their names) and
templates are used where it has them, so the gallery shows what this bot would post.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.chat import registry
from bot.cli import simulate
from bot.config.settings import Settings
from bot.ops.gallery.config import run_settings, source_names
from bot.ops.gallery.page import Channel, Gallery, Section
from bot.ops.gallery.recorder import Recorder
from bot.ops.gallery.run import Run, pipeline
from bot.providers import PROVIDERS

START = 1_700_000_000.0
"""2023-11-14 22:13 UTC, a Tuesday night: every run starts here, so pictures repeat."""
MINUTE = 60.0
FLUSH = 5 * MINUTE
"""After a lifecycle's last step: what still waits (a digest's edit) goes out."""
SAMPLE_GAP = 3600.0
"""Time between two samples: long enough that no two are grouped or threaded."""


Change = Callable[[Any, str, str], Any]
"""Rewrites a body, given the lifecycle's start and the step's time (ISO 8601)."""


@dataclass(frozen=True)
class Step:
    """A request at ``after`` seconds into a lifecycle, or only time passing."""

    after: float
    provider: str = ""
    sample: str = ""
    """An event of the provider's ``samples.toml``..."""
    body: str = ""
    """...or a body file of its ``samples/`` folder, sent with ``headers`` and ``set``."""
    headers: dict[str, str] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    change: Change | None = None
    """Rewrites the body (a storm of 40 alerts from a notification of two)."""
    says: str = ""
    """What happens, as the page says it."""


@dataclass(frozen=True)
class Lifecycle:
    key: str
    title: str
    steps: tuple[Step, ...]
    route: dict[str, Any] = field(default_factory=dict)
    """Route keys besides ``to`` (quiet hours)."""
    heartbeat: str = ""
    """The provider whose source watches for silence (``heartbeat = "10m"``)."""


def storm(first: int, count: int) -> Change:
    """Alertmanager's notification of two alerts as one of ``count`` that differ by host."""

    def change(payload: Any, start: str, now: str) -> Any:
        template = payload["alerts"][0]
        payload["alerts"] = [
            {
                **copy.deepcopy(template),
                "labels": {**template["labels"], "instance": f"node-{n:02}:9100"},
                "fingerprint": f"{n:016x}",
            }
            for n in range(first, first + count)
        ]
        return payload

    return change


def resolved(payload: Any, start: str, now: str) -> Any:
    """A firing notification as the same alerts' resolution (Alertmanager's shape, which
    Grafana shares): the samples' resolved notifications are of other alerts."""
    payload["status"] = "resolved"
    for alert in payload["alerts"]:
        alert.update(status="resolved", startsAt=start, endsAt=now)
    return payload


REVIEW = Step(
    25 * MINUTE,
    "github",
    body="pull_request_review__submitted.json",
    headers={"X-GitHub-Event": "pull_request_review", "X-GitHub-Delivery": "{uuid}"},
    set={"review.submitted_at": "{now}"},
    says="reviewed",
)

LIFECYCLES = (
    Lifecycle(
        "pull-request",
        "Pull request opened → reviewed → merged (GitHub)",
        (
            Step(0, "github", "pull_request.opened", says="opened"),
            REVIEW,
            Step(3 * 60 * MINUTE, "github", "pull_request.merged", says="merged 3 h later"),
        ),
    ),
    Lifecycle(
        "incident",
        "Incident triggered → acknowledged → resolved (PagerDuty)",
        (
            Step(0, "pagerduty", "incident.triggered", says="triggered"),
            Step(3 * MINUTE, "pagerduty", "incident.acknowledged", says="acknowledged 3 min later"),
            Step(42 * MINUTE, "pagerduty", "incident.resolved", says="resolved 42 min after"),
        ),
    ),
    Lifecycle(
        "alert",
        "Alert firing → resolved (Grafana)",
        (
            Step(0, "grafana", "alert.firing", says="firing"),
            Step(
                3 * MINUTE + 12,
                "grafana",
                "alert.firing",
                change=resolved,
                says="the same alert resolved 3m 12s later",
            ),
        ),
    ),
    Lifecycle(
        "storm",
        "A storm of 40 alerts, then all resolved (Alertmanager)",
        (
            Step(0, "alertmanager", "alert.firing", change=storm(1, 25), says="25 firing"),
            Step(20, "alertmanager", "alert.firing", change=storm(26, 15), says="15 more"),
            Step(
                10 * MINUTE,
                "alertmanager",
                "alert.firing",
                change=lambda body, start, now: resolved(
                    storm(1, 40)(body, start, now), start, now
                ),
                says="all 40 resolved 10 min later",
            ),
        ),
    ),
    Lifecycle(
        "heartbeat",
        'A cron job silent for its heartbeat = "10m", then heard from again',
        (
            Step(0, "heartbeat", "heartbeat.ping", says="a ping"),
            Step(11 * MINUTE, says="10 min without a ping"),
            Step(26 * MINUTE, "heartbeat", "heartbeat.ping", says="pinging again"),
        ),
        heartbeat="heartbeat",
    ),
    Lifecycle(
        "quiet-hours",
        "Quiet hours 22:00-08:00: the night's lesser events in one digest at 08:00",
        (
            Step(25 * MINUTE, "github", "workflow_run.failed", says="22:38 a workflow failed"),
            Step(105 * MINUTE, "sentry", "issue.created", says="23:58 a new Sentry issue"),
            Step(237 * MINUTE, "datadog", "alert.warning", says="02:10 a Datadog warning"),
            Step(430 * MINUTE, "stripe", "invoice.payment_failed", says="05:23 a payment failed"),
            Step(590 * MINUTE, says="08:03, quiet hours are over"),
        ),
        route={"quiet_hours": "22:00-08:00", "quiet_below": "critical"},
    ),
)


def slug(*parts: str) -> str:
    """An element id (and a picture's file name) from names: ``slack-github-push``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")


def fill(now: float, number: int) -> dict[str, Any]:
    """The placeholders of a sample, the same on every run."""
    moment = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
    return {
        "{uuid}": f"00000000-0000-4000-8000-{number:012d}",
        "{now}": moment.replace("+00:00", "Z"),
        "{now_unix}": int(now),
        "{now_ms}": str(int(now * 1000)),
    }


def request_of(step: Step, now: float, number: int, start: float) -> simulate.SampleRequest:
    if step.sample:
        request = simulate.fresh(step.provider, step.sample, now, fill(now, number))
    else:
        sample = simulate.Sample(step.body, step.headers, step.set)
        request = simulate.request_for(step.provider, sample, now, fill(now, number))
    if step.change is None:
        return request
    began, moment = fill(start, number)["{now}"], fill(now, number)["{now}"]
    body = json.dumps(step.change(json.loads(request.body), began, moment)).encode()
    return simulate.SampleRequest(request.headers, body)


async def _play(run: Run, names: dict[str, str], lifecycle: Lifecycle, start: float) -> None:
    for number, step in enumerate(lifecycle.steps):
        at = start + step.after
        await run.advance(max(0.0, at - run.clock.now()), heartbeats=bool(lifecycle.heartbeat))
        if step.provider:
            request = request_of(step, at, number, start)
            await run.receive(names[step.provider], request.headers, request.body)
    await run.advance(FLUSH, heartbeats=False)


async def lifecycle_channel(
    user: Settings, recorder: Recorder, platform: str, lifecycle: Lifecycle
) -> Channel:
    settings = run_settings(user, recorder, [platform], lifecycle.route, lifecycle.heartbeat)
    first = len(recorder.calls[platform])
    async with pipeline(settings, START) as run:
        await _play(run, source_names(user), lifecycle, START)
    says = " → ".join(step.says for step in lifecycle.steps if step.says)
    return Channel(
        slug(platform, "lifecycle", lifecycle.key),
        lifecycle.title,
        says,
        recorder.calls[platform][first:],
    )


async def sample_channels(user: Settings, recorder: Recorder, platform: str) -> list[Section]:
    """Every sample of every provider, each its own message (``lifecycle = "new"``)."""
    settings = run_settings(user, recorder, [platform], {"lifecycle": "new", "group_wait": 0})
    names = source_names(user)
    sections = []
    async with pipeline(settings, START) as run:
        for provider in PROVIDERS:
            channels = []
            for number, event in enumerate(simulate.sample_events(provider)):
                first = len(recorder.calls[platform])
                now = run.clock.now()
                request = request_of(Step(0, provider, event), now, number, now)
                await run.receive(names[provider], request.headers, request.body)
                posted = recorder.calls[platform][first:]
                note = "" if posted else "not posted (a sign of life, or nothing worth a message)"
                channels.append(Channel(slug(platform, provider, event), event, note, posted))
                await run.advance(SAMPLE_GAP, heartbeats=False)
            if channels:
                sections.append(Section(slug(platform, "samples", provider), provider, channels))
    return sections


async def build(
    user: Settings,
    lifecycles: tuple[Lifecycle, ...] = LIFECYCLES,
    samples: bool = True,
) -> Gallery:
    """The gallery of every registered platform."""
    gallery = Gallery()
    async with Recorder().running() as recorder:
        for name, platform in registry.PLATFORMS.items():
            if platform.preview is None:
                gallery.add(name, name, [])
                continue
            sections = [
                Section(
                    slug(name, "lifecycles"),
                    "Lifecycles",
                    [await lifecycle_channel(user, recorder, name, life) for life in lifecycles],
                )
            ]
            if samples:
                sections.extend(await sample_channels(user, recorder, name))
            gallery.add(name, platform.preview.client, sections)
    return gallery
