"""PagerDuty v3: signatures (several at once), incident states as one conversation."""

from __future__ import annotations

import json

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.intake.web import STORE
from bot.providers import pagerduty
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, eventually, fixture_bytes
from tests.senders import PAGERDUTY_SECRET
from tests.senders import pagerduty as pagerduty_headers

SOURCE = source_config(provider="pagerduty", secret=PAGERDUTY_SECRET)
VECTOR_BODY = b'{"event":{"id":"01ABC","event_type":"incident.triggered"}}'
VECTOR_SIGNATURE = "v1=503e6db459ac5638864ee5baee672e95715bb81990f9f290f0115fee1f59d5b9"


def signed(signature: str | None, body: bytes = VECTOR_BODY) -> WebhookRequest:
    headers = {} if signature is None else {"x-pagerduty-signature": signature}
    return WebhookRequest(headers, body)


def test_protocol_test_vector_verifies():
    pagerduty.verify(SOURCE, signed(VECTOR_SIGNATURE), 0)


def test_any_of_several_signatures_may_match_while_pagerduty_rotates():
    other = "v1=" + "0" * 64
    pagerduty.verify(SOURCE, signed(f"{other},{VECTOR_SIGNATURE}"), 0)
    pagerduty.verify(SOURCE, signed(f"{VECTOR_SIGNATURE}, {other}"), 0)


def test_our_side_rotates_with_a_list_of_secrets():
    rotating = source_config(provider="pagerduty", secret=["brand-new", PAGERDUTY_SECRET])
    pagerduty.verify(rotating, signed(VECTOR_SIGNATURE), 0)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-PagerDuty-Signature"),
        ("v1=" + "0" * 64, "does not match"),
        (VECTOR_SIGNATURE.replace("v1=", "v0="), "does not match"),
        (VECTOR_SIGNATURE.removeprefix("v1="), "does not match"),
        ("", "missing"),
    ],
)
def test_bad_signatures_are_refused(signature, reason):
    with pytest.raises(VerificationError, match=reason):
        pagerduty.verify(SOURCE, signed(signature), 0)


def test_a_body_changed_in_transit_is_refused():
    with pytest.raises(VerificationError):
        pagerduty.verify(SOURCE, signed(VECTOR_SIGNATURE, VECTOR_BODY + b" "), 0)


def normalize(name: str):
    body = fixture_bytes(f"pagerduty/{name}.json")
    return pagerduty.normalize("pd", SOURCE, WebhookRequest({}, body), json.loads(body))


@pytest.mark.parametrize(
    ("fixture", "status", "severity", "text"),
    [
        ("incident__triggered", "open", "error", "Triggered"),
        ("incident__acknowledged", "acknowledged", "error", "Acknowledged by PIG 208"),
        ("incident__unacknowledged", "open", "error", "Unacknowledged by PIG 208"),
        ("incident__resolved", "resolved", "error", "Resolved by PIG 208"),
        ("incident__reopened", "open", "warning", "Reopened by Harsh Santwani"),
        ("incident__reassigned", "open", "error", "Reassigned to Test User by PIG 208"),
        ("incident__escalated", "open", "critical", "Escalated to Harsh Santwani by Harsh"),
        ("incident__priority_updated", "open", "error", "Priority set to P2 by Harsh"),
    ],
)
def test_incident_events_carry_state_and_severity(fixture, status, severity, text):
    [event] = normalize(fixture)
    payload = json.loads(fixture_bytes(f"pagerduty/{fixture}.json"))["event"]
    assert event.event == payload["event_type"]
    assert event.status == status
    assert event.severity == severity  # priority when set (P1 critical), else urgency
    assert event.text.startswith(text)
    assert event.thread_key == f"pagerduty:{payload['data']['id']}"
    assert event.url == payload["data"]["html_url"]
    assert event.title == f"Incident #{payload['data']['number']}: {payload['data']['title']}"
    assert event.occurred_at.isoformat().startswith(payload["occurred_at"][:19])
    assert event.labels["service"] == payload["data"]["service"]["summary"]


def test_later_states_and_notes_of_one_incident_share_its_conversation():
    [acknowledged] = normalize("incident__acknowledged")
    [unacknowledged] = normalize("incident__unacknowledged")
    assert acknowledged.thread_key == unacknowledged.thread_key == "pagerduty:PQ1K5C8"
    assert unacknowledged.occurred_at < acknowledged.occurred_at  # the order says the state
    [escalated] = normalize("incident__escalated")
    [priority] = normalize("incident__priority_updated")
    [note] = normalize("incident__annotated")
    assert escalated.thread_key == priority.thread_key == note.thread_key
    assert note.status is None  # a note does not change the incident's state
    assert "Running KILL on long-running queries" in note.text


def pagey_ping() -> bytes:
    """PagerDuty's test delivery of a subscription (``pagey.ping``): nothing happened."""
    payload = json.loads(fixture_bytes("pagerduty/service__created.json"))
    payload["event"]["event_type"] = "pagey.ping"
    return json.dumps(payload).encode()


def test_event_types_that_are_not_about_incidents_or_services_are_ignored():
    body = pagey_ping()
    assert pagerduty.normalize("pd", SOURCE, WebhookRequest({}, body), json.loads(body)) == []


def config(tmp_path, slack_url=None):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["pagerduty"] = {"provider": "pagerduty", "secret": PAGERDUTY_SECRET}
    return settings


async def test_triggered_incident_reaches_slack_and_a_retry_posts_nothing(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(config(tmp_path, fake_slack.url))
    body = fixture_bytes("pagerduty/incident__triggered.json")

    first = await bot.post("/hooks/pagerduty", data=body, headers=pagerduty_headers(body))
    retry = await bot.post("/hooks/pagerduty", data=body, headers=pagerduty_headers(body))

    assert first.status == retry.status == 200
    first_id = (await first.json())["id"]
    assert await retry.json() == {"status": "duplicate", "id": first_id}
    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "🔥 Triggered · high urgency · pig208"
    blocks = json.dumps(post.body["attachments"])
    assert "https://pig208.pagerduty.com/incidents/PFQZPSY" in blocks
    assert "Escalation policy" in blocks
    record = await bot.app[STORE].get_event(f"{first_id}.0")
    assert record.type == "incident.triggered"


async def test_unknown_event_type_is_accepted_and_recorded_as_ignored(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path))
    body = pagey_ping()
    response = await bot.post("/hooks/pagerduty", data=body, headers=pagerduty_headers(body))
    assert response.status == 200

    async def ignored():
        return (await bot.app[STORE].counts()).get("inbox_ignored") == 1

    assert await eventually(ignored)


def test_sign_makes_headers_that_verify_accepts():
    headers = {k.lower(): v for k, v in pagerduty.sign(SOURCE, VECTOR_BODY, 0).items()}
    assert headers["x-pagerduty-signature"] == VECTOR_SIGNATURE
    pagerduty.verify(SOURCE, WebhookRequest(headers, VECTOR_BODY), 0)
