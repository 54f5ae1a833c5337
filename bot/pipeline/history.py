"""What routing decided for an event when it was planned, kept with the event.

Routes are numbered by their place in the config, so an index alone is read against
whatever config runs today: an event sent by the old config's route 1 would be shown
with the new route 1. The decision is therefore stored in words (each route as
``check-config`` describes it, each target with the template that rendered it), and
``why``, the inspector and ``explain --id`` show it as history; what today's config
would do is worked out apart and shown only where it differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.settings import Settings
from bot.core.events import Event
from bot.pipeline.route import Decision, Router


@dataclass(frozen=True)
class Routed:
    """One target an event went to, and the route that sent it, as the config said then."""

    target: str
    route: int
    route_text: str


def _by_route(routed: list[Routed]) -> list[str]:
    """One line per route, naming the targets it sent the event to."""
    targets: dict[tuple[int, str], list[str]] = {}
    for r in routed:
        targets.setdefault((r.route, r.route_text), []).append(r.target)
    return [
        f"route {route + 1} ({text}) -> {', '.join(names)}"
        for (route, text), names in targets.items()
    ]


def decided(router: Router, decisions: list[Decision], templates: dict[str, str]) -> dict[str, Any]:
    """The decision as stored in the event's ``decision`` column."""
    return {
        "routed": [
            {"target": d.target, "route": d.route, "text": router.routes[d.route].describe()}
            for d in decisions
        ],
        "templates": templates,
    }


def routed(decision: dict[str, Any]) -> list[Routed]:
    return [Routed(r["target"], int(r["route"]), str(r["text"])) for r in decision["routed"]]


def today(settings: Settings, detail: dict[str, Any]) -> list[Routed]:
    """Where today's routes would send the event ``detail`` describes."""
    event = Event.model_validate({k: v for k, v in detail.items() if k in Event.model_fields})
    router = Router(settings)
    return [
        Routed(d.target, d.route, router.routes[d.route].describe()) for d in router.route(event)
    ]


def history_lines(
    settings: Settings, decision: dict[str, Any] | None, detail: dict[str, Any]
) -> list[str]:
    """The decision as made then, then today's config's where it differs."""
    now = _by_route(today(settings, detail)) or ["no route matches: stored, not posted"]
    if decision is None:
        return [
            "recorded before decisions were kept with events; today's config would send it:",
            *(f"  {line}" for line in now),
        ]
    then = _by_route(routed(decision))
    lines = [f"matched {line}" for line in then] or ["matched no route: stored, not posted"]
    templates = decision.get("templates") or {}
    lines.extend(f"template for {target}: {name}" for target, name in sorted(templates.items()))
    if (then or ["no route matches: stored, not posted"]) != now:
        lines.append("today's config would differ:")
        lines.extend(f"  {line}" for line in now)
    return lines
