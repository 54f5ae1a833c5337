"""No input makes the server answer 500: one table per provider, over a real socket.

Each provider gets the same hostile requests: a wrong secret, a stale timestamp (where
its scheme has one), a missing signature header, a body cut short, wrong content types,
an empty body, broken encodings, JSON of the wrong shape and an event type nobody
renders. The expected answers are the HTTP contract: 401 for credentials, 400 for
bodies that are not JSON, 2xx (recorded as ignored) for JSON we do not render.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.intake.web import STORE
from tests.conftest import GITHUB_SECRET, base_config, eventually, fixture_bytes, github_headers
from tests.senders import (
    ALERTMANAGER_TOKEN,
    GRAFANA_SECRET,
    PAGERDUTY_SECRET,
    STANDARD_SECRET,
    STRIPE_SECRET,
    bearer,
    grafana,
    pagerduty,
    standard_webhooks,
    stripe,
)

Sign = Callable[[bytes], dict[str, str]]


@dataclass
class Sender:
    """How one provider's sender talks to us, and what it says that we do not render."""

    source: dict[str, Any]
    fixture: str
    sign: Sign
    wrong_secret: Sign
    unknown_event: tuple[bytes, Sign]
    stale: Sign | None = None
    signature_headers: tuple[str, ...] = ("authorization",)
    extra: dict[str, Any] = field(default_factory=dict)


def _github(event: str) -> Sign:
    return lambda body: github_headers(body, event, f"d-{hash(body)}")


SENDERS: dict[str, Sender] = {
    "github": Sender(
        source={"provider": "github", "secret": GITHUB_SECRET},
        fixture="github/push.json",
        sign=_github("push"),
        wrong_secret=lambda body: github_headers(body, "push", "w", secret="wrong"),
        unknown_event=(b'{"action": "teleported"}', _github("quantum_leap")),
        signature_headers=("x-hub-signature-256",),
    ),
    "alertmanager": Sender(
        source={"provider": "alertmanager", "token": ALERTMANAGER_TOKEN},
        fixture="alertmanager/firing__two_alerts.json",
        sign=lambda body: bearer(ALERTMANAGER_TOKEN),
        wrong_secret=lambda body: bearer("wrong-token"),
        unknown_event=(
            json.dumps({"version": "4", "status": "pending", "alerts": []}).encode(),
            lambda body: bearer(ALERTMANAGER_TOKEN),
        ),
    ),
    "pagerduty": Sender(
        source={"provider": "pagerduty", "secret": PAGERDUTY_SECRET},
        fixture="pagerduty/incident__triggered.json",
        sign=lambda body: pagerduty(body),
        wrong_secret=lambda body: pagerduty(body, "wrong-secret"),
        unknown_event=(fixture_bytes("pagerduty/service__created.json"), pagerduty),
        signature_headers=("x-pagerduty-signature",),
    ),
    "stripe": Sender(
        source={"provider": "stripe", "secret": STRIPE_SECRET},
        fixture="stripe/charge__failed.json",
        sign=lambda body: stripe(body, int(time.time())),
        wrong_secret=lambda body: stripe(body, int(time.time()), "whsec_wrong"),
        stale=lambda body: stripe(body, int(time.time()) - 3600),
        unknown_event=(
            fixture_bytes("stripe/charge__refund_updated.json"),
            lambda body: stripe(body, int(time.time())),
        ),
        signature_headers=("stripe-signature",),
    ),
    "grafana": Sender(
        source={
            "provider": "grafana",
            "secret": GRAFANA_SECRET,
            "timestamp_header": "X-Grafana-Alerting-Timestamp",
        },
        fixture="grafana/firing__values.json",
        sign=lambda body: grafana(body, int(time.time())),
        wrong_secret=lambda body: grafana(body, int(time.time()), secret="wrong"),
        stale=lambda body: grafana(body, int(time.time()) - 3600),
        unknown_event=(
            fixture_bytes("grafana/legacy__ok.json"),
            lambda body: grafana(body, int(time.time())),
        ),
        signature_headers=("x-grafana-alerting-signature",),
    ),
    "datadog": Sender(
        source={"provider": "datadog", "token": "dd-token", "token_header": "X-Bot-Token"},
        fixture="datadog/alert__triggered.json",
        sign=lambda body: {"X-Bot-Token": "dd-token", "Content-Type": "application/json"},
        wrong_secret=lambda body: {"X-Bot-Token": "nope", "Content-Type": "application/json"},
        unknown_event=(
            fixture_bytes("datadog/alert__null.json"),
            lambda body: {"X-Bot-Token": "dd-token", "Content-Type": "application/json"},
        ),
        signature_headers=("x-bot-token",),
    ),
    "generic": Sender(
        source={"provider": "generic", "secret": STANDARD_SECRET},
        fixture="generic/standard_webhooks__contact_created.json",
        sign=lambda body: standard_webhooks(body, int(time.time()), f"msg_{hash(body)}"),
        wrong_secret=lambda body: standard_webhooks(
            body, int(time.time()), secret="whsec_" + "A" * 32
        ),
        stale=lambda body: standard_webhooks(body, int(time.time()) - 3600),
        # Every JSON body is an event to a generic source; an unknown type is still shown.
        unknown_event=(
            b'{"type": "never.seen"}',
            lambda body: standard_webhooks(body, int(time.time()), "msg_unknown"),
        ),
        signature_headers=("webhook-signature",),
    ),
}


def _without(headers: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in names}


def _with_type(headers: dict[str, str], content_type: str) -> dict[str, str]:
    return {**_without(headers, ("content-type",)), "Content-Type": content_type}


def requests_for(sender: Sender) -> dict[str, tuple[bytes, dict[str, str], int]]:
    """case -> (body, headers, expected status)."""
    good = fixture_bytes(sender.fixture)
    cut = good[: len(good) // 2]
    unknown_body, unknown_sign = sender.unknown_event
    cases = {
        "valid": (good, sender.sign(good), 200),
        "wrong secret": (good, sender.wrong_secret(good), 401),
        "missing signature header": (
            good,
            _without(sender.sign(good), sender.signature_headers),
            401,
        ),
        "body cut short, signed as sent": (cut, sender.sign(cut), 400),
        "body cut short, signed whole": (cut, sender.sign(good), 401 if _signs(sender) else 400),
        "text/plain content type": (good, _with_type(sender.sign(good), "text/plain"), 200),
        "form content type, JSON body": (
            good,
            _with_type(sender.sign(good), "application/x-www-form-urlencoded"),
            400,
        ),
        "empty body": (b"", sender.sign(b""), 400),
        "not UTF-8": (b'{"a": "\xff"}', sender.sign(b'{"a": "\xff"}'), 400),
        "nested too deep": (b"[" * 100_000, sender.sign(b"[" * 100_000), 400),
        "JSON array": (b"[1, 2]", sender.sign(b"[1, 2]"), 200),
        "JSON null": (b"null", sender.sign(b"null"), 200),
        "unknown event type": (unknown_body, unknown_sign(unknown_body), 200),
    }
    if sender.stale is not None:
        cases["stale timestamp"] = (good, sender.stale(good), 401)
    return cases


def _signs(sender: Sender) -> bool:
    """True when the credential covers the body (HMAC), so a cut body fails the check."""
    return "secret" in sender.source


@pytest.mark.parametrize("provider", sorted(SENDERS))
async def test_every_hostile_request_gets_a_contract_answer_never_500(tmp_path, make_bot, provider):
    sender = SENDERS[provider]
    config = base_config(tmp_path)
    config["sources"] = {"hook": {**sender.source, **sender.extra}}
    bot = await make_bot(config)
    cases = requests_for(sender)

    answers = {}
    accepted = set()
    secrets = [v for k, v in sender.source.items() if k in ("secret", "token", "password")]
    for case, (body, headers, _) in cases.items():
        response = await bot.post("/hooks/hook", data=body, headers=headers)
        answers[case] = response.status
        assert response.content_type == "application/json", case
        said = await response.text()
        assert not any(secret in said for secret in secrets), case  # never echo a secret
        if (answer := json.loads(said))["status"] == "accepted":
            accepted.add(answer["id"])

    assert answers == {case: expected for case, (_, _, expected) in cases.items()}
    store = bot.app[STORE]

    async def all_processed():
        counts = await store.counts()
        done = counts.get("inbox_ignored", 0) + counts.get("inbox_done", 0)
        return done == len(accepted) and not counts.get("inbox_dead")

    assert await eventually(all_processed), await store.counts()
