"""generic: Standard Webhooks, a custom HMAC header or a token; fields mapped in config."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from bot.config.settings import ConfigError, load_config, source_config
from bot.core.errors import PayloadError, VerificationError
from bot.intake.web import STORE
from bot.providers import generic
from bot.providers.base import WebhookRequest
from tests.conftest import base_config, dumps, eventually, fixture_bytes
from tests.senders import STANDARD_SECRET, standard_webhooks

STANDARD = source_config(provider="generic", secret=STANDARD_SECRET)
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def request(headers: dict[str, str], body: bytes = VECTOR_BODY) -> WebhookRequest:
    return WebhookRequest({k.lower(): v for k, v in headers.items()}, body)


def vector(signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": signature,
    }


# -- Standard Webhooks ---------------------------------------------------------------


def test_standard_webhooks_library_vector_verifies():
    generic.verify(STANDARD, request(vector()), VECTOR_TS)


def test_any_v1_of_several_may_match_and_other_versions_are_skipped():
    signatures = f"v1a,{'A' * 86}== v1,{'B' * 43}= {VECTOR_SIGNATURE}"
    generic.verify(STANDARD, request(vector(signatures)), VECTOR_TS)


@pytest.mark.parametrize(
    ("headers", "now", "reason"),
    [
        ({}, VECTOR_TS, "missing webhook-id"),
        (vector("v1," + "A" * 43 + "="), VECTOR_TS, "does not match"),
        (vector(VECTOR_SIGNATURE.replace("v1,", "v1a,")), VECTOR_TS, "does not match"),
        (vector(), VECTOR_TS + 301, "timestamp outside tolerance"),  # stale
        (vector(), VECTOR_TS - 301, "timestamp outside tolerance"),  # from the future
        ({**vector(), "webhook-id": "msg_other"}, VECTOR_TS, "does not match"),  # id is signed
    ],
)
def test_bad_standard_webhooks_requests_are_refused(headers, now, reason):
    with pytest.raises(VerificationError, match=reason):
        generic.verify(STANDARD, request(headers), now)


# -- custom HMAC header and tokens ---------------------------------------------------


GITHUB_STYLE = source_config(
    provider="generic",
    secret="It's a Secret to Everybody",
    signature_header="X-Hub-Signature-256",
    signature_prefix="sha256=",
)
GITHUB_VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_custom_hex_header_reproduces_githubs_published_vector():
    body = b"Hello, World!"
    generic.verify(GITHUB_STYLE, request({"X-Hub-Signature-256": GITHUB_VECTOR}, body), 0)
    upper = "sha256=" + GITHUB_VECTOR.removeprefix("sha256=").upper()
    generic.verify(GITHUB_STYLE, request({"X-Hub-Signature-256": upper}, body), 0)
    with pytest.raises(VerificationError, match="does not start with 'sha256='"):
        bare = GITHUB_VECTOR.removeprefix("sha256=")
        generic.verify(GITHUB_STYLE, request({"X-Hub-Signature-256": bare}, body), 0)


def test_custom_base64_header_with_a_timestamp():
    source = source_config(
        provider="generic",
        secret="shh",
        signature_header="X-Signature",
        signature_encoding="base64",
        timestamp_header="X-Timestamp",
    )
    now = int(time.time())
    digest = hmac.new(b"shh", f"{now}:".encode() + VECTOR_BODY, hashlib.sha256).digest()
    headers = {"X-Signature": base64.b64encode(digest).decode(), "X-Timestamp": str(now)}
    generic.verify(source, request(headers), now)
    with pytest.raises(VerificationError, match="timestamp outside tolerance"):
        generic.verify(source, request(headers), now + 3600)
    with pytest.raises(VerificationError, match="missing X-Timestamp"):
        generic.verify(source, request({"X-Signature": headers["X-Signature"]}), now)


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [({"X-Gitlab-Token": "gl-token"}, True), ({"X-Gitlab-Token": "nope"}, False), ({}, False)],
)
def test_static_token_in_a_named_header(headers, accepted):
    source = source_config(provider="generic", token="gl-token", token_header="X-Gitlab-Token")
    if accepted:
        generic.verify(source, request(headers), 0)
    else:
        with pytest.raises(VerificationError):
            generic.verify(source, request(headers), 0)


@pytest.mark.parametrize(
    "source",
    [
        STANDARD,
        GITHUB_STYLE,
        source_config(
            provider="generic",
            secret="s",
            signature_header="X-Sig",
            signature_encoding="base64",
            timestamp_header="X-Ts",
        ),
        source_config(provider="generic", token="t", token_header="X-Token"),
    ],
)
def test_sign_makes_headers_that_verify_accepts(source):
    now = time.time()
    headers = generic.sign(source, VECTOR_BODY, now)
    generic.verify(source, request(headers), now)


# -- fields --------------------------------------------------------------------------


DEPLOY_FIELDS = {
    "event": "deploy.{{ status }}",
    "title": "{{ project.path_with_namespace }}: deploy to {{ environment }} {{ status }}",
    "text": "commit_title",
    "severity": "{{ 'error' if status == 'failed' else 'info' }}",
    "status": "{{ 'resolved' if status in ['success', 'failed', 'canceled'] else 'open' }}",
    "url": "deployable_url",
    "actor": "user.username",
    "thread_key": "deployment_id",
    "occurred_at": "status_changed_at",
    "labels": {"env": "environment", "project": "project.path_with_namespace", "none": "nope"},
}


def normalize(fixture: str, fields=None, source_name: str = "deploys"):
    payload = json.loads(fixture_bytes(f"generic/{fixture}.json"))
    source = source_config(provider="generic", token="t", fields=fields)
    return generic.normalize(source_name, source, WebhookRequest({}, dumps(payload)), payload)


def test_fields_map_a_gitlab_deployment_into_an_event():
    [event] = normalize("gitlab__deployment_failed", DEPLOY_FIELDS)
    assert event.event == "deploy.failed"
    assert event.title == "vedant8600317/test: deploy to production failed"
    assert event.text == "Update .gitlab-ci.yml file"
    assert (event.severity, event.status) == ("error", "resolved")
    assert event.url == "https://gitlab.com/vedant8600317/test/-/jobs/9905759933"
    assert event.actor == "theofficialvedantjoshi"
    assert event.thread_key == "deploys:988604916"
    assert event.occurred_at.isoformat() == "2025-05-02T12:30:19+00:00"
    assert event.labels == {"env": "production", "project": "vedant8600317/test"}


def test_without_fields_the_body_speaks_for_itself():
    [event] = normalize("standard_webhooks__contact_created")
    assert event.event == "contact.created"  # Standard Webhooks' `type`
    assert event.title == "deploys webhook"
    assert event.occurred_at.isoformat().startswith("2022-11-03T20:26:10")
    [titled] = normalize("standard_webhooks__contact_created", {"title": "data.fullName"})
    assert titled.title == "John Smith"


def test_paths_index_lists_and_templates_may_be_constants():
    fields = {
        "title": "Contact {{ data.fullName }}",
        "text": "Plain words, no braces",
        "severity": "{{ 'warn' }}",
    }
    [event] = normalize("standard_webhooks__contact_created", fields)
    assert (event.title, event.text, event.severity) == (
        "Contact John Smith",
        "Plain words, no braces",
        "warning",
    )


def test_the_sandbox_keeps_expressions_away_from_python_internals():
    fields = {"title": "{{ payload.__class__.__mro__ }}{{ data.__init__.__globals__ }}x"}
    [event] = normalize("standard_webhooks__contact_created", fields)
    assert event.title == "x"


def test_an_expression_failing_on_a_body_is_a_clear_normalize_error():
    with pytest.raises(PayloadError, match=r"fields.title: '\{\{ 1 // 0 \}\}' failed: Zero"):
        normalize("standard_webhooks__contact_created", {"title": "{{ 1 // 0 }}"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ('title = "{{ data.name"', "sources.deploys.fields: title: '{{ data.name' is not a valid"),
        ('labels = { env = "{{ x | nofilter }}" }', "labels.env: '{{ x | nofilter }}' is not a"),
        ('colour = "red"', "sources.deploys.fields.colour: unknown key"),
    ],
)
def test_bad_field_expressions_fail_at_load_naming_the_key(tmp_path, fields, expected):
    path = tmp_path / "bot.toml"
    source = '[sources.deploys]\nprovider = "generic"\ntoken = "t"\n'
    path.write_text(f"{source}[sources.deploys.fields]\n{fields}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('secret = "change-me"', "Standard Webhooks secret is whsec_ followed by base64"),
        ('token = "t"\ntimestamp_header = "X-Ts"', "set signature_header too"),
        ('token = "t"\nsignature_header = "X-Sig"', "signature_header needs a secret"),
        ('provider = "stripe"', "fields applies only to generic"),
    ],
)
def test_signature_settings_are_checked_at_load(tmp_path, source, expected):
    text = f'[sources.x]\nprovider = "generic"\n{source}\n'
    if "stripe" in source:
        text = '[sources.x]\nprovider = "stripe"\nsecret = "s"\n[sources.x.fields]\ntitle = "t"\n'
    path = tmp_path / "bot.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


# -- over HTTP -----------------------------------------------------------------------


def config(tmp_path, slack_url=None, **source):
    settings = base_config(tmp_path, slack_url)
    settings["sources"]["deploys"] = {"provider": "generic", **source}
    return settings


async def test_a_gitlab_deployment_through_a_generic_source_reaches_slack(
    tmp_path, fake_slack, make_bot
):
    source = {"token": "gl-token", "token_header": "X-Gitlab-Token", "fields": DEPLOY_FIELDS}
    bot = await make_bot(config(tmp_path, fake_slack.url, **source))
    body = fixture_bytes("generic/gitlab__deployment_failed.json")
    headers = {"X-Gitlab-Token": "gl-token", "Content-Type": "application/json"}

    assert (await bot.post("/hooks/deploys", data=body, headers=headers)).status == 200
    assert (await bot.post("/hooks/deploys", data=body, headers={})).status == 401

    [post] = await fake_slack.wait_for(1)
    assert post.body["text"] == "❌ Deploy failed · error · theofficialvedantjoshi"
    blocks = json.dumps(post.body["attachments"])
    assert "deploy to production failed" in blocks  # the title says it...
    assert "*env*" not in blocks  # ...so no field says it again


async def test_standard_webhooks_retry_is_a_duplicate(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path, secret=STANDARD_SECRET))
    body = fixture_bytes("generic/standard_webhooks__contact_created.json")
    now = int(time.time())

    first = await bot.post("/hooks/deploys", data=body, headers=standard_webhooks(body, now))
    retry = await bot.post("/hooks/deploys", data=body, headers=standard_webhooks(body, now + 30))

    assert (await retry.json()) == {"status": "duplicate", "id": (await first.json())["id"]}


async def test_a_failing_expression_marks_the_request_failed_with_the_reason(tmp_path, make_bot):
    bot = await make_bot(config(tmp_path, token="t", fields={"title": "{{ 1 // 0 }}"}))
    answer = await bot.post(
        "/hooks/deploys", data=dumps({"x": 1}), headers={"Authorization": "Bearer t"}
    )
    assert answer.status == 200  # the body was fine; our mapping was not
    store = bot.app[STORE]

    async def failed():
        return (await store.counts()).get("inbox_dead") == 1

    assert await eventually(failed)
    [dead] = await store.dead_letters()
    assert "fields.title" in json.dumps(dead) and "ZeroDivisionError" in json.dumps(dead)
