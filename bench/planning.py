"""The plan scenario: CPU time to plan one request (normalize, route, render), in this
process, with no server and no store.

What a planner spends before the store sees the result: the part of the drain and the
storm that templates and routing decide. CPU time (``time.process_time``), not wall
time, so another process on the machine changes it less. Each kind of request is planned
once untimed first (templates compile), then ``plan_events`` times.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench.payloads import AlertmanagerNotifications, GitHubPushes, Request
from bench.processes import bot_config
from bot.chat import registry
from bot.config.settings import load_config
from bot.pipeline.plan import Planner
from bot.render.renderer import Renderer
from bot.store.records import InboxItem

if TYPE_CHECKING:
    from bench.scenarios import Options


class Payloads(Protocol):
    def request(self, number: int) -> Request: ...


async def planning(opts: Options, workdir: Path) -> dict[str, Any]:
    """``push_ms`` per GitHub push; ``alert_ms`` per alert of Alertmanager notifications of
    ``storm_per_request`` alerts; ``plan_events`` of each, routed as the other scenarios
    route them."""
    config = bot_config(workdir, "http://127.0.0.1:9", channels=opts.channels, alerts=True)
    settings = load_config(str(config))
    planner = Planner(settings, Renderer(settings.templates.dir, markups=registry.markups()))
    pushes = _cpu_per_request(planner, "github", GitHubPushes(opts.channels), opts.plan_events)
    per_request = opts.storm_per_request
    notifications = AlertmanagerNotifications(per_request)
    alerts = _cpu_per_request(
        planner, "prometheus", notifications, max(1, opts.plan_events // per_request)
    )
    return {
        "events": opts.plan_events,
        "push_ms": round(pushes * 1000, 3),
        "alert_ms": round(alerts * 1000 / per_request, 3),
        "pushes_per_cpu_s": round(1 / pushes) if pushes else 0,
    }


def _cpu_per_request(planner: Planner, source: str, payloads: Payloads, count: int) -> float:
    items = [
        InboxItem(number, source, f"plan-{number}", time.time(), _as_stored(request), request.body)
        for number, request in ((n, payloads.request(n)) for n in range(count + 1))
    ]
    _plan(planner, items[:1])
    started = time.process_time()
    _plan(planner, items[1:])
    return (time.process_time() - started) / count


def _plan(planner: Planner, items: list[InboxItem]) -> None:
    for item in items:
        for event in planner.normalize(item):
            planner.plan(item, event)


def _as_stored(request: Request) -> dict[str, str]:
    """The headers as the store hands them to the planner: names in lower case."""
    return {name.lower(): value for name, value in request.headers.items()}
