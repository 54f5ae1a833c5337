"""Grafana: HMAC header (with an optional timestamp) or token/basic; Alertmanager-shaped body."""

from __future__ import annotations

import json
import time

import pytest

from bot.config.settings import source_config
from bot.core.errors import VerificationError
from bot.intake.web import STORE
from bot.providers import grafana
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, dumps, eventually, fixture_bytes
from tests.senders import GRAFANA_SECRET, basic, bearer
from tests.senders import grafana as grafana_headers

VECTOR_BODY = b'{"status":"firing"}'
VECTOR_PLAIN = "d8ef0d473aea048c06bbecce5231db92fc2fab56bd85205e05589f12cb304129"
VECTOR_TIMED = "f55d1cc3e4b55fb1377c6c213ae40a5651e03aae281f67e51b188ccac0e2fb52"
SIGNED = source_config(provider="grafana", secret=GRAFANA_SECRET)
TIMED = source_config(
    provider="grafana", secret=GRAFANA_SECRET, timestamp_header="X-Grafana-Alerting-Timestamp"
)


def request(headers: dict[str, str], body: bytes = VECTOR_BODY) -> WebhookRequest:
    return WebhookRequest({k.lower(): v for k, v in headers.items()}, body)


def test_protocol_vector_without_timestamp():
    grafana.verify(SIGNED, request({"X-Grafana-Alerting-Signature": VECTOR_PLAIN}), 0)


def test_protocol_vector_with_timestamp():
    headers = {
        "X-Grafana-Alerting-Signature": VECTOR_TIMED,
        "X-Grafana-Alerting-Timestamp": "1700000000",
    }
    grafana.verify(TIMED, request(headers), 1700000000)


@pytest.mark.parametrize(
    ("source", "headers", "now", "reason"),
    [
        (SIGNED, {}, 0, "missing X-Grafana-Alerting-Signature"),
        (SIGNED, {"X-Grafana-Alerting-Signature": "0" * 64}, 0, "does not match"),
        (SIGNED, {"X-Grafana-Alerting-Signature": VECTOR_TIMED}, 0, "does not match"),
        (TIMED, {"X-Grafana-Alerting-Signature": VECTOR_PLAIN}, 0, "missing X-Grafana-Alerting"),
        (
            TIMED,
            {
                "X-Grafana-Alerting-Signature": VECTOR_TIMED,
                "X-Grafana-Alerting-Timestamp": "1700000000",
            },
            1700000000 + 3600,
            "timestamp outside tolerance",
        ),
        (
            TIMED,
            {
                "X-Grafana-Alerting-Signature": VECTOR_TIMED,
                "X-Grafana-Alerting-Timestamp": "1700000001",
            },
            1700000000,
            "does not match",
        ),
    ],
)
def test_bad_signatures_are_refused(source, headers, now, reason):
    with pytest.raises(VerificationError, match=reason):
        grafana.verify(source, request(headers), now)


def test_the_signature_header_name_is_configurable():
    custom = source_config(provider="grafana", secret=GRAFANA_SECRET, signature_header="X-Sig")
    grafana.verify(custom, request({"X-Sig": VECTOR_PLAIN}), 0)
    with pytest.raises(VerificationError, match="missing X-Sig"):
        grafana.verify(custom, request({"X-Grafana-Alerting-Signature": VECTOR_PLAIN}), 0)


@pytest.mark.parametrize(
    ("source", "headers", "accepted"),
    [
        (source_config(provider="grafana", token="gf-token"), bearer("gf-token"), True),
        (source_config(provider="grafana", token="gf-token"), bearer("other"), False),
        (source_config(provider="grafana", username="u", password="p"), basic("u", "p"), True),
        (source_config(provider="grafana", username="u", password="p"), {}, False),
        (  # both configured: both must hold
            source_config(provider="grafana", secret=GRAFANA_SECRET, token="gf-token"),
            {"X-Grafana-Alerting-Signature": VECTOR_PLAIN},
            False,
        ),
        (
            source_config(provider="grafana", secret=GRAFANA_SECRET, token="gf-token"),
            {**bearer("gf-token"), "X-Grafana-Alerting-Signature": VECTOR_PLAIN},
            True,
        ),
    ],
)
def test_token_or_basic_auth_for_grafana_without_signing(source, headers, accepted):
    if accepted:
        grafana.verify(source, request(headers), 0)
    else:
        with pytest.raises(VerificationError):
            grafana.verify(source, request(headers), 0)


def normalize(name: str, group: bool = True):
    payload = json.loads(fixture_bytes(f"grafana/{name}.json"))
    source = source_config(provider="grafana", secret=GRAFANA_SECRET, group=group)
    return grafana.PROVIDER.normalize(
        "grafana", source, WebhookRequest({}, dumps(payload)), payload
    )


def test_group_of_differently_named_alerts_is_titled_by_their_names():
    [event] = normalize("firing__two_alerts")
    assert event.event == "alert.firing" and event.status == "open"
    assert event.title == "[FIRING:2] High memory usage, High CPU usage"
    assert event.labels == {"team": "blue", "state": "alerting"}  # Grafana's state too
    assert event.url == "https://play.grafana.org/"
    # No summary or description in common: Grafana's message is the text.
    assert event.text.startswith("**Firing**\n\nLabels:\n - alertname = T2")


def test_grafana_title_is_used_when_alerts_have_no_name():
    payload = json.loads(fixture_bytes("grafana/firing__two_alerts.json"))
    for alert in payload["alerts"]:
        del alert["labels"]["alertname"]
    source = source_config(provider="grafana", secret=GRAFANA_SECRET)
    [event] = grafana.PROVIDER.normalize("g", source, WebhookRequest({}, b""), payload)
    assert event.title == "[FIRING:2] (blue)"  # Grafana's, whitespace collapsed


def test_summary_wins_over_grafana_message_and_state_reaches_per_alert_events():
    [event] = normalize("firing__values")
    assert event.text == "High memory usage"
    [single] = normalize("resolved__single_alert", group=False)
    assert single.labels["state"] == "ok"


def test_resolved_notification_closes_the_conversation_of_its_group():
    [event] = normalize("resolved__single_alert")
    assert (event.event, event.status) == ("alert.resolved", "resolved")
    assert event.title == "[RESOLVED] Test alert"
    assert event.occurred_at.isoformat().startswith("2022-06-17T00:51:24")


def test_per_alert_mode_uses_fingerprints():
    events = normalize("firing__two_alerts", group=False)
    assert [e.thread_key for e in events] == [
        "grafana:grafana:c6eadffa33fcdf37",
        "grafana:grafana:bc97ff14869b13e3",
    ]
    assert events[1].labels["zone"] == "eu-1"


def test_legacy_alerting_body_is_ignored():
    assert normalize("legacy__ok") == []


def config(tmp_path, slack_url=None, **source):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["grafana"] = {"provider": "grafana", **source}
    return settings


async def test_signed_alert_reaches_slack_with_grafana_links(tmp_path, fake_slack, make_bot):
    source = {"secret": GRAFANA_SECRET, "timestamp_header": "X-Grafana-Alerting-Timestamp"}
    bot = await make_bot(config(tmp_path, fake_slack.url, **source))
    body = fixture_bytes("grafana/firing__values.json")

    response = await bot.post(
        "/hooks/grafana", data=body, headers=grafana_headers(body, int(time.time()))
    )

    assert response.status == 200
    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "⚠️ Firing"
    blocks = post.body["attachments"][0]["blocks"]
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {"Dashboard", "Panel", "Silence in Grafana"} <= set(buttons)
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert "*Values*\nA=2.47e9, B=0, C=1, minute=9" in fields


async def test_stale_timestamp_is_401(tmp_path, make_bot):
    source = {"secret": GRAFANA_SECRET, "timestamp_header": "X-Grafana-Alerting-Timestamp"}
    bot = await make_bot(config(tmp_path, **source))
    body = fixture_bytes("grafana/firing__values.json")
    headers = grafana_headers(body, int(time.time()) - 3600)
    response = await bot.post("/hooks/grafana", data=body, headers=headers)
    assert response.status == 401
    assert await bot.app[STORE].counts() == {}


async def test_legacy_body_is_accepted_and_recorded_as_ignored(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path, secret=GRAFANA_SECRET))
    body = fixture_bytes("grafana/legacy__ok.json")
    assert (
        await bot.post("/hooks/grafana", data=body, headers=grafana_headers(body))
    ).status == 200

    async def ignored():
        return (await bot.app[STORE].counts()).get("inbox_ignored") == 1

    assert await eventually(ignored)


@pytest.mark.parametrize(
    "source",
    [
        SIGNED,
        TIMED,
        source_config(provider="grafana", token="t"),
        source_config(provider="grafana", secret="s", signature_header="X-Sig", token="t"),
    ],
)
def test_sign_makes_headers_that_verify_accepts(source):
    now = time.time()
    headers = {k.lower(): v for k, v in grafana.sign(source, VECTOR_BODY, now).items()}
    grafana.verify(source, WebhookRequest(headers, VECTOR_BODY), now)
