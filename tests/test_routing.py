"""Routing rules: globs, lists, severity levels, exclude, continue, catch-all."""

from __future__ import annotations

from bot.config.settings import Settings
from bot.core.events import Event
from bot.pipeline.route import Router, route_warnings
from bot.providers import PROVIDERS


def router(*routes: dict) -> Router:
    targets = {name: {"slack": f"#{name}"} for name in ("eng", "web", "ops", "all")}
    return Router(Settings(targets=targets, routes=list(routes)))


def event(**fields) -> Event:
    defaults = {"source": "github", "provider": "github", "event": "push", "title": "t"}
    return Event(**{**defaults, **fields})


def targets(r: Router, e: Event) -> list[str]:
    return [d.target for d in r.route(e)]


def test_first_match_wins_and_catch_all_takes_the_rest():
    r = router({"match": {"repo": "acme/web"}, "to": ["web"]}, {"to": ["all"]})
    assert targets(r, event(labels={"repo": "acme/web"})) == ["web"]
    assert targets(r, event(labels={"repo": "acme/api"})) == ["all"]


def test_globs_lists_and_label_keys():
    r = router(
        {"match": {"event": ["pull_request.*", "release.*"], "branch": "main"}, "to": ["eng"]}
    )
    assert targets(r, event(event="pull_request.merged", labels={"branch": "main"})) == ["eng"]
    assert targets(r, event(event="release.published", labels={"branch": "main"})) == ["eng"]
    assert targets(r, event(event="pull_request.merged", labels={"branch": "dev"})) == []
    assert targets(r, event(event="push", labels={"branch": "main"})) == []


def test_severity_threshold_and_exclude():
    r = router(
        {"match": {"severity": ">=error"}, "exclude": {"actor": "dependabot*"}, "to": ["ops"]}
    )
    assert targets(r, event(severity="critical", actor="mona")) == ["ops"]
    assert targets(r, event(severity="warning", actor="mona")) == []
    assert targets(r, event(severity="error", actor="dependabot[bot]")) == []


def test_continue_collects_targets_once_each():
    r = router(
        {"match": {"severity": ">=error"}, "to": ["ops"], "continue": True},
        {"match": {"source": "github"}, "to": ["eng", "ops"]},
        {"to": ["all"]},
    )
    assert targets(r, event(severity="error")) == ["ops", "eng"]
    assert targets(r, event(severity="info")) == ["eng", "ops"]


def test_missing_label_never_matches_a_pattern():
    r = router({"match": {"repo": "*"}, "to": ["eng"]})
    assert targets(r, event()) == []


def test_routes_that_look_mistaken_are_warned_about_with_the_key():
    settings = Settings(
        sources={"github": {"provider": "github", "secret": "s"}},
        targets={"eng": {"slack": "#eng"}},
        routes=[
            {"match": {"source": "githbu", "sevrity": ">=error", "repo": "acme/*"}, "to": ["eng"]},
            {"match": {"source": "git*", "provider": ["github", "alertmanger"]}, "to": ["eng"]},
            {"exclude": {"actor": "dependabot*"}, "to": ["eng"]},
        ],
    )

    assert route_warnings(settings) == [
        "routes[0].match.source: 'githbu' matches no source here (sources: github)",
        "routes[0].match.sevrity: not an event field, so it is read as a label; "
        "did you mean 'severity'?",
        "routes[1].match.provider: 'alertmanger' matches no provider here (providers: "
        f"{', '.join(PROVIDERS)})",
    ]
