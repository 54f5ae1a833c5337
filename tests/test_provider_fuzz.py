"""Any JSON a sender might send: normalizing and rendering never raise.

Each provider's real example bodies are mutated (a random part replaced by random JSON: wrong
types, nulls, huge numbers, empty containers, odd text), then normalized and rendered
for both platforms. A provider may ignore what it cannot read, but an exception would
turn a readable request into a dead one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.registry import markups
from bot.config.settings import source_config
from bot.providers import PROVIDERS
from bot.providers.base import WebhookRequest
from bot.render.renderer import Message, Renderer
from tests.conftest import examples
from tests.senders import EXAMPLE_SOURCES

SOURCES = {name: source_config(**EXAMPLE_SOURCES[name]) for name in PROVIDERS}
"""Each provider's source in the example config."""
RENDERER = Renderer(markups=markups())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def fixtures(provider: str) -> list[tuple[str, Any]]:
    paths = sorted(examples(provider).glob("*.json"))
    return [(path.stem, json.loads(path.read_text())) for path in paths]


@st.composite
def mutated(draw: st.DrawFn, payload: Any) -> Any:
    """``payload`` with one randomly chosen part replaced by random JSON."""
    if not isinstance(payload, dict | list) or not payload or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    keys = list(payload) if isinstance(payload, dict) else list(range(len(payload)))
    key = draw(st.sampled_from(keys))
    copy = dict(payload) if isinstance(payload, dict) else list(payload)
    copy[key] = draw(mutated(payload[key]))
    return copy


@pytest.mark.parametrize("provider", sorted(SOURCES))
def test_mutated_payloads_never_raise(provider):
    source = SOURCES[provider]
    cases = fixtures(provider)
    header = {"x-github-event": "pull_request"} if provider == "github" else {}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name, payload = data.draw(st.sampled_from(cases))
        changed = data.draw(mutated(payload))
        if provider == "github":
            event = name.split("__")[0]
            headers = {"x-github-event": event}
        elif provider == "sentry":  # the resource is in a header, as the sample's name says
            headers = {"sentry-hook-resource": name.split("__")[0]}
        else:
            headers = header
        request = WebhookRequest(headers, json.dumps(changed).encode())
        events = PROVIDERS[provider].normalize("fuzz", source, request, changed)
        PROVIDERS[provider].delivery_id(request, changed)
        for event in events:
            for platform in ("slack", "discord"):
                message = RENDERER.render(event, platform)
                assert not message.text.startswith("event received; template"), message.text

    check()


def rendered(provider: str, payload: Any) -> list[Message]:
    """``payload``'s one event, rendered for Slack and for Discord."""
    request = WebhookRequest({}, json.dumps(payload).encode())
    [event] = PROVIDERS[provider].normalize("fuzz", SOURCES[provider], request, payload)
    return [RENDERER.render(event, platform) for platform in ("slack", "discord")]


def test_an_annotation_that_is_not_text_still_renders():
    """Found by the fuzzing above: a description that is a list (unhashable)."""
    [(_, payload)] = [c for c in fixtures("alertmanager") if c[0] == "resolved__single_alert"]
    payload["alerts"][0]["annotations"]["description"] = [None]
    for message in rendered("alertmanager", payload):
        assert not message.text.startswith("event received; template"), message.text


@pytest.mark.parametrize("field", ["assignee", "priority"])
def test_a_pagerduty_name_that_is_not_text_still_renders(field):
    """Found by the fuzzing above: an assignee's or a priority's summary that is a list."""
    [(_, payload)] = [c for c in fixtures("pagerduty") if c[0] == "incident__escalated"]
    incident = payload["event"]["data"]
    if field == "assignee":
        incident["assignees"][0]["summary"] = [None]
    else:
        incident["priority"]["summary"] = ["P1"]
    for message in rendered("pagerduty", payload):
        assert not message.text.startswith("event received; template"), message.text
        shown = {shown.name: shown.value for shown in message.fields}
        assert shown["Escalation policy"] == "Default"  # the rest of the message is there
