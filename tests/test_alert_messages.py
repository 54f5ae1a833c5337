"""What an on-call engineer reads in an alert message: lines told apart, each linked to
its own alert, no zero counts, Grafana's values readable, the right links.

Payloads are the providers' samples (Alertmanager's and Grafana's from Zulip's webhook
fixtures, Apache-2.0, see ``bot/providers/SAMPLES.md``), changed only where a test says.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bot.chat.registry import markups
from bot.chat.slack.adapter import message_payload as slack_payload
from bot.config.settings import source_config
from bot.core.events import Event
from bot.pipeline.grouping import digest_message
from bot.providers import PROVIDERS
from bot.providers.base import WebhookRequest
from bot.render.readings import compact_number, readings
from bot.render.renderer import Message, Renderer
from tests.conftest import dumps, fixture_bytes

RENDERER = Renderer(markups=markups())


def sample(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_bytes(name))
    return payload


def events(provider: str, payload: dict[str, Any], group: bool = True) -> list[Event]:
    source = source_config(provider=provider, token="t" * 32, group=group)
    request = WebhookRequest({}, dumps(payload))
    return PROVIDERS[provider].normalize("src", source, request, payload)


def render(provider: str, payload: dict[str, Any], platform: str = "slack") -> Message:
    [event] = events(provider, payload)
    return RENDERER.render(event, platform)


def seen(message: Message) -> str:
    """Everything a Slack user sees of the message, as one string."""
    return json.dumps(slack_payload(message), ensure_ascii=False)


def test_alerts_of_one_group_are_told_apart_by_their_description():
    message = render("alertmanager", sample("alertmanager/firing__two_alerts.json"))
    lines = message.text.splitlines()
    # The summary all alerts share is said once, then one line per alert.
    assert lines[0] == "High CPU core temperature"
    url = sample("alertmanager/firing__two_alerts.json")["alerts"][0]["generatorURL"]
    assert lines[1:] == [
        f"🔥 <{url}|CPU core temperature is 34.75C>",
        f"🔥 <{url}|CPU core temperature is 17.625C>",
    ]
    assert seen(message).count("High CPU core temperature") == 1


def test_alerts_with_one_description_are_told_apart_by_the_labels_that_differ():
    payload = sample("alertmanager/firing__two_alerts.json")
    for n, alert in enumerate(payload["alerts"]):
        alert["annotations"]["description"] = "CPU too hot"
        alert["labels"]["host"] = f"node-{n}"
        alert["generatorURL"] = f"http://prometheus.example/graph?g0.expr=up&host={n}"
    message = render("alertmanager", payload)
    # The description they share is said once, with the summary; each line its host.
    assert message.text.splitlines() == [
        "High CPU core temperature",
        "CPU too hot",
        "🔥 <http://prometheus.example/graph?g0.expr=up&host=0|host=node-0>",
        "🔥 <http://prometheus.example/graph?g0.expr=up&host=1|host=node-1>",
    ]


def test_a_group_title_links_to_its_receiver_in_the_alerts_view():
    payload = sample("alertmanager/firing__two_alerts.json")
    payload["receiver"] = "ops team"
    payload["externalURL"] = "http://alertmanager.example:9093/"
    message = render("alertmanager", payload)
    assert message.url == "http://alertmanager.example:9093/#/alerts?receiver=ops%20team"


def test_a_single_alert_links_to_its_own_graph():
    payload = sample("alertmanager/resolved__single_alert.json")
    message = render("alertmanager", payload)
    assert message.url == payload["alerts"][0]["generatorURL"]
    assert message.text.splitlines() == [
        "High CPU core temperature",
        "CPU core temperature is 34.75C",
    ]
    assert {f.name: f.value for f in message.fields}["Labels"] == "host=andromeda"


def test_counts_never_say_zero():
    firing = render("alertmanager", sample("alertmanager/firing__two_alerts.json"))
    assert firing.headline == "🚨 Firing · critical · 2 alerts"
    payload = sample("alertmanager/firing__two_alerts.json")
    payload["alerts"][1]["status"] = "resolved"
    payload["alerts"][1]["endsAt"] = "2020-02-06T00:27:58Z"
    mixed = render("alertmanager", payload)
    assert mixed.headline == "🚨 Firing · critical · 1 firing, 1 resolved"
    assert mixed.text.splitlines()[2].startswith("✅ ")
    for message in (firing, mixed):
        assert " 0 " not in seen(message)
        assert "Severity" not in [f.name for f in message.fields]  # the headline says it


def test_grafana_values_are_built_from_values_not_the_raw_value_string():
    message = render("grafana", sample("grafana/firing__values.json"))
    fields = {f.name: f.value for f in message.fields}
    assert fields["Values"] == "A=2.47e9, B=0, C=1, minute=9"
    assert "var=" not in seen(message)
    assert "Silence in Grafana" in [button.label for button in message.links]  # it fires


def test_grafana_without_values_reads_its_value_string_and_offers_no_silence_once_resolved():
    message = render("grafana", sample("grafana/resolved__single_alert.json"))
    fields = {f.name: f.value for f in message.fields}
    assert fields["Values"] == "B0=24"
    assert not [button for button in message.links if "Silence" in button.label]
    assert "silence" not in seen(message)


def test_a_grafana_group_is_told_apart_by_alert_name_and_summary():
    # Zulip's alert_multiple_v8.json: two alerts sharing only team=blue.
    message = render("grafana", sample("grafana/firing__two_alerts.json"))
    assert message.url == "https://play.grafana.org/alerting/groups?alertmanager=grafana"
    assert [line.split("|")[-1] for line in message.text.splitlines()[-2:]] == [
        "High memory usage · This alert was triggered for zone us-1 · zone=us-1>",
        "High CPU usage · This alert was triggered for zone eu-1 · zone=eu-1>",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2473545728, "2.47e9"),
        (0, "0"),
        (9, "9"),
        (0.5, "0.5"),
        (14151.331895396988, "14151.3"),
        (0.0000123, "1.23e-5"),
        (-3e7, "-3e7"),
        ("n/a", "n/a"),
    ],
)
def test_numbers_are_compact(value, shown):
    assert compact_number(value) == shown


def test_value_strings_of_every_grafana_shape_read_as_pairs():
    assert readings("[ metric='' labels={} value=14151.331895396988 ]") == "14151.3"
    assert readings("[ var='A' labels={a=b} value=1e+06 ], [ var='B' labels={} value=0 ]") == (
        "A=1e6, B=0"
    )
    assert readings(None) == "" and readings("no values here") == ""


def storm(count: int) -> list[Message]:
    """One message per alert (``group = false``), alerts differing by host and value."""
    payload = sample("alertmanager/firing__two_alerts.json")
    template = payload["alerts"][0]
    payload["alerts"] = []
    for n in range(count):
        alert = copy.deepcopy(template)
        alert["labels"]["host"] = f"node-{n}"
        alert["annotations"]["description"] = f"CPU core temperature is {30 + n}C"
        alert["generatorURL"] = f"http://prometheus.example/graph?host=node-{n}"
        alert["fingerprint"] = f"{n:016x}"
        payload["alerts"].append(alert)
    return [RENDERER.render(event, "slack") for event in events("alertmanager", payload, False)]


def digest_of(messages: list[Message], statuses: list[str]) -> Message:
    entries = {
        str(n): {
            "title": message.title,
            "line": message.line,
            "url": message.url,
            "color": message.color,
            "status": status,
            "type": "alert.firing" if status == "open" else "alert.resolved",
            "at": float(n),
        }
        for n, (message, status) in enumerate(zip(messages, statuses, strict=True))
    }
    return digest_message(entries, "slack", 100.0)


def test_a_storm_digest_names_the_alert_once_and_tells_its_lines_apart():
    digest = digest_of(storm(3), ["open"] * 3)
    assert digest.title == "High CPU Temperature · 3 alerts firing"
    assert digest.text.splitlines() == [
        f"• <http://prometheus.example/graph?host=node-{n}|"
        f"CPU core temperature is {30 + n}C · host=node-{n}>"
        for n in (2, 1, 0)  # newest first
    ]


def test_a_mixed_storm_says_each_line_state_once():
    digest = digest_of(storm(2), ["open", "resolved"])
    assert digest.title == "High CPU Temperature · 2 alerts: 1 resolved, 1 firing"
    for line in digest.text.splitlines():
        state = line.rsplit(" ", 1)[-1]
        assert state in ("(firing)", "(resolved)")
        assert line.count("firing") + line.count("resolved") == 1
