"""Sentry: the client-secret HMAC, Sentry-Hook-Resource dispatch, Request-ID, and each
handler on the payloads of Sentry's webhook docs and Zulip's Sentry fixtures (see
bot/providers/SAMPLES.md), through the real intake where conversations matter."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.providers import sentry
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, fixture_bytes
from tests.senders import SENTRY_SECRET
from tests.senders import sentry as sentry_headers

SOURCE = source_config(provider="sentry", secret=SENTRY_SECRET)


def request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest({k.lower(): v for k, v in headers.items()}, body)


def test_the_documented_scheme_verifies():
    # Sentry's docs: hmac.new(client_secret, body, sha256).hexdigest() == the header.
    body = fixture_bytes("sentry/issue__created.json")
    digest = hmac.new(b"It's a secret", body, hashlib.sha256).hexdigest()
    source = source_config(provider="sentry", secret="It's a secret")
    sentry.verify(source, request(body, {"Sentry-Hook-Signature": digest}), 0)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing Sentry-Hook-Signature .*Client Secret"),
        ({"Sentry-Hook-Signature": "0" * 64}, "does not match the configured secret"),
    ],
)
def test_bad_signatures_are_refused(headers, reason):
    with pytest.raises(VerificationError, match=reason):
        sentry.verify(SOURCE, request(b"{}", headers), 0)


def test_a_signature_over_another_body_is_refused():
    headers = sentry_headers(b'{"action": "created"}', "issue")
    with pytest.raises(VerificationError, match="does not match"):
        sentry.verify(SOURCE, request(b'{"action": "resolved"}', headers), 0)


def test_rotation_accepts_the_old_and_the_new_secret():
    rotating = source_config(provider="sentry", secret=["new", SENTRY_SECRET])
    sentry.verify(rotating, request(b"{}", sentry_headers(b"{}", "issue")), 0)


def test_request_id_is_the_delivery_id():
    hook = request(b"{}", {"Request-ID": "6c4b1f4c-0b1e-4d6e-9d43-4f1b3f0e2a11"})
    assert sentry.delivery_id(hook, None) == "6c4b1f4c-0b1e-4d6e-9d43-4f1b3f0e2a11"
    assert sentry.delivery_id(request(b"{}", {}), None).startswith("sha256:")


def normalize(fixture: str, resource: str, **changes: Any):
    payload = json.loads(fixture_bytes(f"sentry/{fixture}.json"))
    payload.update(changes)
    body = json.dumps(payload).encode()
    return sentry.normalize("sn", SOURCE, request(body, sentry_headers(body, resource)), payload)


@pytest.mark.parametrize(
    ("fixture", "resource", "changes", "expected"),
    [
        (
            "issue__created",
            "issue",
            {},
            {
                "event": "issue.created",
                "severity": "error",
                "status": "open",
                "thread_key": "sentry:issue:1170820242",
                "text": "1 events, 1 users · ?(runner)",
                "labels": {"level": "error", "culprit": "?(runner)", "project": "front-end"},
            },
        ),
        ("issue__resolved", "issue", {}, {"event": "issue.resolved", "status": "resolved"}),
        (
            "issue__assigned",
            "issue",
            {},
            {"event": "issue.assigned", "status": None, "actor": "Hemanth V. Alluri"},
        ),
        ("issue__ignored", "issue", {}, {"event": "issue.archived", "status": "resolved"}),
        # Sentry renamed ignoring to archiving; newer Sentry sends "archived".
        ("issue__ignored", "issue", {"action": "archived"}, {"event": "issue.archived"}),
        (
            "event_alert__triggered",
            "event_alert",
            {},
            {
                "event": "issue_alert.triggered",
                "severity": "error",
                "thread_key": "sentry:issue:1117540176",
                "title": "ReferenceError: heck is not defined (Very Important Alert Rule!)",
                "url": "https://sentry.io/organizations/test-org/issues/1117540176/events/"
                "e4874d664c3540c1a32eab185f12c5ab/",
                "labels": {"rule": "Very Important Alert Rule!", "culprit": "?(<anonymous>)"},
            },
        ),
        (
            "metric_alert__resolved",
            "metric_alert",
            {},
            {
                "event": "metric_alert.resolved",
                "status": "resolved",
                "thread_key": "sentry:metric_alert:4",
                "text": "1000 events in the last 10 minutes\nFilter: level:error",
                "url": "https://sentry.io/organizations/baz/alerts/1/",
            },
        ),
        (
            "metric_alert__resolved",
            "metric_alert",
            {"action": "critical"},
            {"event": "metric_alert.critical", "severity": "critical", "status": "open"},
        ),
        (
            "metric_alert__resolved",
            "metric_alert",
            {"action": "warning"},
            {"event": "metric_alert.warning", "severity": "warning", "status": "open"},
        ),
    ],
)
def test_supported_events_normalize(fixture, resource, changes, expected):
    [event] = normalize(fixture, resource, **changes)
    for key, value in expected.items():
        actual = getattr(event, key)
        if isinstance(value, dict):
            assert value.items() <= actual.items()
        else:
            assert actual == value


@pytest.mark.parametrize(
    ("fixture", "resource"),
    [
        ("issue__created", "installation"),
        ("issue__created", "error"),
        ("issue__created", "comment"),
        ("issue__created", ""),
    ],
)
def test_other_resources_are_accepted_and_ignored(fixture, resource):
    assert normalize(fixture, resource) == []


async def test_a_metric_alert_is_one_slack_conversation(make_bot, tmp_path, fake_slack):
    """Critical, then warning, then resolved: one message, edited, with replies."""
    config = base_config(tmp_path, fake_slack.url)
    config["sources"] = {"sentry": {"provider": "sentry", "secret": SENTRY_SECRET}}
    bot = await make_bot(config)
    payload = json.loads(fixture_bytes("sentry/metric_alert__resolved.json"))
    incident = payload["data"]["metric_alert"]
    steps = [("critical", "12:27"), ("warning", "12:40"), ("resolved", "12:55")]
    for action, at in steps:
        payload["action"] = action
        payload["data"]["description_title"] = f"{action.title()}: Too many errors"
        incident["date_detected"] = incident["date_closed"] = f"2020-09-13T{at}:00Z"
        body = json.dumps(payload).encode()
        headers = sentry_headers(body, "metric_alert", request_id=f"req-{action}")
        response = await bot.post("/hooks/sentry", data=body, headers=headers)
        assert response.status == 200, await response.text()
    updates = await fake_slack.wait_for(2, "chat.update")
    roots = [p for p in fake_slack.posts() if "thread_ts" not in p.body]
    assert len(roots) == 1
    assert "Critical: Too many errors" in json.dumps(roots[0].body)
    assert "Resolved: Too many errors" in json.dumps(updates[-1].body)
