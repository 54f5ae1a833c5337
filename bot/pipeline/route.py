"""Routing rules: which targets an event goes to, and why.

Routes are tried in order; the first match wins unless it says ``continue = true``.
A route matches when every key of ``match`` matches and ``exclude`` does not. An event
its provider ignores by default (``Provider.ignored_by_default``) is taken only by a
route that names it in ``match.event``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from bot.config.settings import RouteConfig, Settings
from bot.core.events import MATCH_FIELDS, Event, severity_rank
from bot.providers import PROVIDERS

_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Condition:
    """One key of a match table: the event's value must fit any of the patterns."""

    key: str
    patterns: tuple[str, ...]
    literals: frozenset[str] = field(init=False, repr=False, compare=False)
    """Patterns without ``*``, ``?`` or ``[``: a set lookup instead of a glob match each.
    A config with a route per repository has a hundred of them, tried for every event."""

    def __post_init__(self) -> None:
        literals = {p for p in self.patterns if not _GLOB_CHARACTERS.intersection(p)}
        if self.key == "severity":
            literals = {p for p in literals if not p.startswith(">=")}
        object.__setattr__(self, "literals", frozenset(literals))

    def holds(self, event: Event) -> bool:
        value = event.match_value(self.key)
        if value is None:
            return False
        if value in self.literals:
            return True
        for pattern in self.patterns:
            if pattern in self.literals:
                continue
            if self.key == "severity" and pattern.startswith(">="):
                if severity_rank(value) >= severity_rank(pattern[2:]):
                    return True
            elif fnmatchcase(value, pattern):
                return True
        return False

    def describe(self) -> str:
        shown = " or ".join(self.patterns)
        return f"{self.key} {'is' if len(self.patterns) == 1 else 'is one of'} {shown}"


@dataclass(frozen=True)
class Route:
    index: int
    match: tuple[Condition, ...]
    exclude: tuple[Condition, ...]
    targets: tuple[str, ...]
    keep_going: bool
    lifecycle: str
    group_wait: float | None

    def names(self, event: str, entry: str) -> bool:
        """Whether ``match.event`` lists ``event`` or the ignored-by-default ``entry``
        covering it as written: a glob like ``pull_request.*`` does not, so a catch-all
        route never starts posting what the provider calls noise."""
        return any(
            c.key == "event" and (event in c.patterns or entry in c.patterns) for c in self.match
        )

    def matches(self, event: Event) -> bool:
        for condition in self.match:
            if not condition.holds(event):
                return False
        return not (self.exclude and all(c.holds(event) for c in self.exclude))

    def describe(self) -> str:
        """The route in plain words, for ``check-config``."""
        when = " and ".join(c.describe() for c in self.match) or "every event"
        unless = " and ".join(c.describe() for c in self.exclude)
        text = f"{when}{f', unless {unless}' if unless else ''} -> {', '.join(self.targets)}"
        extras = []
        if self.lifecycle != "update+thread":
            extras.append(f"lifecycle {self.lifecycle}")
        if self.group_wait:
            extras.append(f"grouped after {self.group_wait:g}s")
        text += f" ({'; '.join(extras)})" if extras else ""
        return text + ("; then keep looking" if self.keep_going else "")


@dataclass(frozen=True)
class Decision:
    """Where one event goes and which route sent it there."""

    target: str
    route: int
    lifecycle: str
    group_wait: float | None


def _conditions(table: dict[str, str | list[str]]) -> tuple[Condition, ...]:
    return tuple(
        Condition(key, (value,) if isinstance(value, str) else tuple(value))
        for key, value in table.items()
    )


def compile_routes(routes: list[RouteConfig]) -> list[Route]:
    return [
        Route(
            index=index,
            match=_conditions(route.match),
            exclude=_conditions(route.exclude),
            targets=tuple(route.to),
            keep_going=route.continue_,
            lifecycle=route.lifecycle,
            group_wait=route.group_wait,
        )
        for index, route in enumerate(routes)
    ]


def route_warnings(settings: Settings) -> list[str]:
    """Route keys that look like mistakes: a source or provider nothing is called, a key
    one letter off an event field. Warned, not refused: any other key is a label, and a
    label may be spelled any way."""
    names = {"source": sorted(settings.sources), "provider": list(PROVIDERS)}
    warnings = []
    for index, route in enumerate(settings.routes):
        for table, conditions in (("match", route.match), ("exclude", route.exclude)):
            for key, value in conditions.items():
                where = f"routes[{index}].{table}.{key}"
                warnings.extend(_doubts(where, key, value, names.get(key)))
    return warnings


def _doubts(where: str, key: str, value: str | list[str], names: list[str] | None) -> list[str]:
    if key not in MATCH_FIELDS and (close := difflib.get_close_matches(key, MATCH_FIELDS, 1, 0.75)):
        return [
            f"{where}: not an event field, so it is read as a label; did you mean {close[0]!r}?"
        ]
    if names is None:
        return []
    patterns = [value] if isinstance(value, str) else value
    return [
        f"{where}: {pattern!r} matches no {key} here ({key}s: {', '.join(names) or 'none'})"
        for pattern in patterns
        if not any(fnmatchcase(name, pattern) for name in names)
    ]


def ignored_entry(event: Event) -> str | None:
    """The entry of its provider's ``ignored_by_default`` set that covers the event."""
    provider = PROVIDERS.get(event.provider)
    return provider.ignored_entry(event.event) if provider is not None else None


def ignored_reason(event: Event) -> str | None:
    """Why no route took the event, when its provider ignores it by default, and how to
    post it anyway: what ``explain`` and ``why`` say."""
    entry = ignored_entry(event)
    if entry is None:
        return None
    reason = PROVIDERS[event.provider].ignored_by_default[entry]
    return f'ignored by default: {reason} (a route with event = "{event.event}" posts it)'


class Router:
    """Applies the configured routes; each target gets an event at most once."""

    def __init__(self, settings: Settings) -> None:
        self.routes = compile_routes(settings.routes)

    def route(self, event: Event) -> list[Decision]:
        decisions: dict[str, Decision] = {}
        entry = ignored_entry(event)
        for route in self.routes:
            if entry is not None and not route.names(event.event, entry):
                continue
            if not route.matches(event):
                continue
            for target in route.targets:
                decisions.setdefault(
                    target, Decision(target, route.index, route.lifecycle, route.group_wait)
                )
            if not route.keep_going:
                break
        return list(decisions.values())
