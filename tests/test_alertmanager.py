"""Alertmanager: group and per-alert events, content-hash dedupe, bearer and basic auth."""

from __future__ import annotations

import copy
import json

import pytest

from bot.config.settings import SourceConfig, source_config
from bot.intake.web import STORE
from bot.providers import alertmanager
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, dumps, eventually, fixture_bytes, posts_on
from tests.senders import ALERTMANAGER_TOKEN, basic, bearer

GROUP = source_config(provider="alertmanager", token=ALERTMANAGER_TOKEN)
PER_ALERT = source_config(provider="alertmanager", token=ALERTMANAGER_TOKEN, group=False)


def body(name: str) -> dict:
    return json.loads(fixture_bytes(f"alertmanager/{name}.json"))


def normalize(payload: dict, source: SourceConfig = GROUP):
    return alertmanager.PROVIDER.normalize(
        "prom", source, WebhookRequest({}, dumps(payload)), payload
    )


def storm(count: int, truncated: int = 0) -> dict:
    """A group of ``count`` firing alerts that differ by host, like a fleet-wide outage."""
    payload = body("firing__two_alerts")
    template = payload["alerts"][0]
    payload["alerts"] = [
        {
            **copy.deepcopy(template),
            "labels": {**template["labels"], "host": f"node-{n:03}"},
            "fingerprint": f"{n:016x}",
        }
        for n in range(count)
    ]
    payload["truncatedAlerts"] = truncated
    return payload


def test_group_mode_is_one_event_for_the_whole_notification():
    [event] = normalize(body("firing__two_alerts"))
    assert event.event == "alert.firing"
    assert event.status == "open"
    assert event.severity == "critical"
    assert event.title == "[FIRING:2] High CPU Temperature"
    assert event.text == "High CPU core temperature"
    assert event.labels == {"alertname": "High CPU Temperature", "severity": "critical"}
    assert event.url == "http://ops1:9093"


def test_firing_then_resolved_group_is_one_conversation():
    [firing] = normalize(body("firing__two_alerts"))
    [resolved] = normalize(body("resolved__single_alert"))
    assert (resolved.event, resolved.status) == ("alert.resolved", "resolved")
    assert resolved.thread_key == firing.thread_key
    assert firing.thread_key.startswith("alertmanager:prom:")
    assert "{}" not in firing.thread_key  # groupKey is hashed, not stored raw


def test_per_alert_mode_is_one_event_per_alert_keyed_by_fingerprint():
    events = normalize(body("firing__two_alerts"), PER_ALERT)
    assert [e.thread_key for e in events] == [
        "alertmanager:prom:a1bc48475b20e73d",
        "alertmanager:prom:c2ea85182f28cbd9",
    ]
    assert events[0].title == "[FIRING] High CPU Temperature: High CPU core temperature"
    assert events[0].text == "CPU core temperature is 34.75C"
    assert events[0].labels["host"] == "andromeda"
    assert events[0].url.startswith("http://cobalt:9090/graph")
    [resolved] = normalize(body("resolved__single_alert"), PER_ALERT)
    assert (resolved.status, resolved.thread_key) == ("resolved", events[0].thread_key)


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("error", "error"),
        ("warning", "warning"),
        ("info", "info"),
        ("something-else", "warning"),
        (None, "warning"),
    ],
)
def test_severity_comes_from_the_severity_label(label, severity):
    payload = body("firing__two_alerts")
    for labels in [payload["commonLabels"]] + [a["labels"] for a in payload["alerts"]]:
        labels.pop("severity")
        if label is not None:
            labels["severity"] = label
    assert normalize(payload)[0].severity == severity
    assert normalize(payload, PER_ALERT)[0].severity == severity


def test_group_severity_is_the_worst_alert_when_the_group_does_not_share_one():
    payload = body("firing__two_alerts")
    del payload["commonLabels"]["severity"]
    payload["alerts"][0]["labels"]["severity"] = "info"
    payload["alerts"][1]["labels"]["severity"] = "page"
    assert normalize(payload)[0].severity == "critical"


def test_delivery_id_is_a_hash_of_the_notification_content():
    payload = body("firing__two_alerts")
    same = json.dumps(payload, indent=None).encode()
    reformatted = json.dumps(payload, indent=4).encode()
    first = alertmanager.PROVIDER.delivery_id(WebhookRequest({}, same), payload)
    assert alertmanager.PROVIDER.delivery_id(WebhookRequest({}, reformatted), payload) == first
    payload["alerts"].reverse()
    assert alertmanager.PROVIDER.delivery_id(WebhookRequest({}, same), payload) == first
    payload["status"] = "resolved"
    assert alertmanager.PROVIDER.delivery_id(WebhookRequest({}, same), payload) != first


@pytest.mark.parametrize(
    "payload",
    [
        {**json.loads(fixture_bytes("alertmanager/firing__two_alerts.json")), "version": "5"},
        {"text": "a custom payload template"},
        {**json.loads(fixture_bytes("alertmanager/firing__two_alerts.json")), "alerts": []},
        [1, 2, 3],
    ],
)
def test_other_shapes_are_ignored(payload):
    assert normalize(payload) == []


def config(tmp_path, slack_url=None, **source):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["prometheus"] = {"provider": "alertmanager", **source}
    return settings


async def test_a_storm_is_one_message_listing_ten_alerts_and_a_count(
    tmp_path, fake_slack, make_bot, clock
):
    bot = await make_bot(config(tmp_path, fake_slack.url, token=ALERTMANAGER_TOKEN), clock)
    payload = dumps(storm(40, truncated=25))

    response = await bot.post("/hooks/prometheus", data=payload, headers=bearer(ALERTMANAGER_TOKEN))

    assert response.status == 200
    [post] = await posts_on(fake_slack, 1, clock)  # after group_wait, in fake seconds
    assert post.body["text"] == "🚨 Firing · critical · 40 alerts"
    section = post.body["attachments"][0]["blocks"][0]["text"]["text"]
    assert section.count("host=node-") == 10
    assert "host=node-009" in section and "host=node-010" not in section
    assert section.rstrip().endswith("…and 55 more")  # 30 not shown + 25 truncated


async def test_ha_pair_sends_the_same_notification_twice_and_it_posts_once(
    tmp_path, fake_slack, make_bot, clock
):
    bot = await make_bot(config(tmp_path, fake_slack.url, token=ALERTMANAGER_TOKEN), clock)
    payload = body("firing__two_alerts")
    from_first = dumps(payload)
    from_second = json.dumps(payload, indent=2).encode()  # same content, other bytes

    first = await (
        await bot.post("/hooks/prometheus", data=from_first, headers=bearer(ALERTMANAGER_TOKEN))
    ).json()
    second = await (
        await bot.post("/hooks/prometheus", data=from_second, headers=bearer(ALERTMANAGER_TOKEN))
    ).json()

    assert second == {"status": "duplicate", "id": first["id"]}
    await posts_on(fake_slack, 1, clock)
    assert len(fake_slack.posts()) == 1


@pytest.mark.parametrize(
    ("source", "headers", "status"),
    [
        ({"token": ALERTMANAGER_TOKEN}, bearer(ALERTMANAGER_TOKEN), 200),
        ({"token": ["new-token", ALERTMANAGER_TOKEN]}, bearer(ALERTMANAGER_TOKEN), 200),
        ({"token": ALERTMANAGER_TOKEN}, bearer("wrong"), 401),
        ({"token": ALERTMANAGER_TOKEN}, {"Content-Type": "application/json"}, 401),
        ({"username": "am", "password": "pw"}, basic("am", "pw"), 200),
        ({"username": "am", "password": "pw"}, basic("am", "wrong"), 401),
        ({"username": "am", "password": "pw"}, bearer("pw"), 401),
    ],
)
async def test_bearer_token_or_basic_auth(tmp_path, make_bot, source, headers, status):
    bot = await make_bot(config(tmp_path, **source))
    response = await bot.post(
        "/hooks/prometheus",
        data=fixture_bytes("alertmanager/firing__two_alerts.json"),
        headers=headers,
    )
    assert response.status == status
    if status == 401:
        assert await bot.app[STORE].counts() == {}


async def test_unreadable_custom_payload_is_accepted_and_ignored(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path, token=ALERTMANAGER_TOKEN))
    response = await bot.post(
        "/hooks/prometheus", data=dumps({"text": "custom"}), headers=bearer(ALERTMANAGER_TOKEN)
    )
    assert response.status == 200

    async def ignored():
        return (await bot.app[STORE].counts()).get("inbox_ignored") == 1

    assert await eventually(ignored)


@pytest.mark.parametrize(
    "source",
    [
        GROUP,
        source_config(provider="alertmanager", token="t", token_header="X-Token"),
        source_config(provider="alertmanager", username="am", password="pw"),
    ],
)
def test_sign_makes_headers_that_verify_accepts(source):
    headers = {k.lower(): v for k, v in alertmanager.sign(source, b"{}", 0).items()}
    alertmanager.verify(source, WebhookRequest(headers, b"{}"), 0)
