"""Datadog: a token in a custom header; alert transitions to status and severity."""

from __future__ import annotations

import json

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.intake.web import STORE
from bot.providers import datadog
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, dumps, eventually, fixture_bytes

TOKEN = "dd-token"
SOURCE = source_config(provider="datadog", token=TOKEN, token_header="X-Bot-Token")


def headers(token: str = TOKEN) -> dict[str, str]:
    """Datadog's webhook "Custom Headers", as the README asks: {"X-Bot-Token": "<token>"}."""
    return {"X-Bot-Token": token, "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("given", "accepted"),
    [
        ({"x-bot-token": TOKEN}, True),
        ({"x-bot-token": "wrong"}, False),
        ({"authorization": f"Bearer {TOKEN}"}, False),  # the configured header, not another
        ({}, False),
    ],
)
def test_the_token_must_arrive_in_the_configured_header(given, accepted):
    request = WebhookRequest(given, b"{}")
    if accepted:
        datadog.verify(SOURCE, request, 0)
    else:
        with pytest.raises(VerificationError, match="X-Bot-Token"):
            datadog.verify(SOURCE, request, 0)


def normalize(name: str, edit=None):
    payload = json.loads(fixture_bytes(f"datadog/{name}.json"))
    if edit:
        edit(payload)
    return datadog.normalize("dd", SOURCE, WebhookRequest({}, dumps(payload)), payload)


@pytest.mark.parametrize(
    ("fixture", "event", "status", "severity"),
    [
        ("alert__triggered", "alert.firing", "open", "critical"),  # P1
        ("alert__warn", "alert.warning", "open", "warning"),  # P3
        ("alert__recovered", "alert.resolved", "resolved", "info"),
        ("default__triggered", "alert.firing", "open", "error"),  # from the title alone
    ],
)
def test_transitions_map_to_status_and_severity(fixture, event, status, severity):
    [normalized] = normalize(fixture)
    assert (normalized.event, normalized.status, normalized.severity) == (event, status, severity)


@pytest.mark.parametrize(
    ("transition", "event", "severity"),
    [
        ("Re-Triggered", "alert.firing", "error"),
        ("Renotify", "alert.firing", "error"),
        ("No Data", "alert.no_data", "warning"),
        ("Re-Warn", "alert.warning", "warning"),
        ("Recovered", "alert.resolved", "info"),
    ],
)
def test_every_documented_transition_without_a_priority(transition, event, severity):
    def edit(payload):
        payload["alert_transition"] = transition
        del payload["alert_priority"]

    [normalized] = normalize("alert__triggered", edit)
    assert (normalized.event, normalized.severity) == (event, severity)


def test_trigger_and_recovery_of_one_alert_cycle_are_one_conversation():
    [triggered] = normalize("alert__triggered")
    [recovered] = normalize("alert__recovered")
    [warn] = normalize("alert__warn")
    assert triggered.thread_key == recovered.thread_key == "datadog:1234-1406662672000"
    assert warn.thread_key != triggered.thread_key  # another cycle
    assert recovered.occurred_at > triggered.occurred_at


def test_fields_of_the_recommended_payload():
    [event] = normalize("alert__triggered")
    assert event.title == "[Triggered on {host:ip-012345}] Host is Down"
    assert event.text == "Sending to the webhook"  # no %%% markers, no @webhook mention
    assert event.url == "https://app.datadoghq.com/event/event?id=1234567"
    assert event.labels == {
        "availability-zone": "us-east-1a",
        "role": "computing-node",
        "env": "prod",
        "host": "ip-012345",
        "priority": "P1",
        "monitor_id": "1234",
        "metric": "system.load.1",
    }
    assert event.occurred_at.timestamp() == 1406662672


def test_null_transition_and_unknown_bodies_are_ignored():
    assert normalize("alert__null") == []
    assert datadog.normalize("dd", SOURCE, WebhookRequest({}, b"{}"), {"title": "hello"}) == []


def test_delivery_id_is_the_notification_event_id():
    payload = json.loads(fixture_bytes("datadog/alert__triggered.json"))
    assert datadog.delivery_id(WebhookRequest({}, b""), payload) == "datadog:1234567"


def config(tmp_path, slack_url=None):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["datadog"] = {
        "provider": "datadog",
        "token": TOKEN,
        "token_header": "X-Bot-Token",
    }
    return settings


async def test_triggered_alert_reaches_slack(tmp_path, fake_slack, make_bot):
    bot = await make_bot(config(tmp_path, fake_slack.url))
    body = fixture_bytes("datadog/alert__triggered.json")

    response = await bot.post("/hooks/datadog", data=body, headers=headers())

    assert response.status == 200
    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "🚨 Triggered · P1 · ip-012345"
    blocks = json.dumps(post.body["attachments"])
    assert "ip-012345" not in blocks and "P1" not in blocks  # the headline says them, once


async def test_wrong_token_is_401_and_null_transition_is_ignored(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path))
    body = fixture_bytes("datadog/alert__null.json")
    assert (await bot.post("/hooks/datadog", data=body, headers=headers("no"))).status == 401
    assert (await bot.post("/hooks/datadog", data=body, headers=headers())).status == 200

    async def ignored():
        return (await bot.app[STORE].counts()).get("inbox_ignored") == 1

    assert await eventually(ignored)


def test_sign_makes_headers_that_verify_accepts():
    signed = {k.lower(): v for k, v in datadog.sign(SOURCE, b"{}", 0).items()}
    datadog.verify(SOURCE, WebhookRequest(signed, b"{}"), 0)
