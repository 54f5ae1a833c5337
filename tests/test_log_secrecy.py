"""No log line, at any level and from any logger (bolt's and aiohttp's included), holds a
signature, a token, a secret or a request body, while bad requests of every kind arrive.

A real ``serve`` at ``LOG_LEVEL=DEBUG`` with its access log on takes forged, malformed
and wrongly authenticated requests on every endpoint; its whole stderr is then searched.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess
from tests.senders import bearer, standard_webhooks, stripe

pytestmark = pytest.mark.slow

GITHUB_SECRET = "gh-secret-never-logged-5Tq"
STRIPE_SECRET = "whsec_stripe-secret-never-logged-8Hw"
AM_TOKEN = "am-token-never-logged-2Jx"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_TOKEN = "xoxb-9-9-SlackTokenNeverLogged"
SIGNING_SECRET = "slack-signing-never-logged-3Vb"
INSPECTOR_TOKEN = "inspector-token-never-logged-6Pd"
PUBLIC_KEY = "e" * 64
GUESS = "attacker-guess-Qz7"
BODY = "BODY-MARKER-never-logged"


def config(tmp_path, slack_url: str) -> str:
    return f"""
[server]
access_log = true
[store]
url = "sqlite:///{tmp_path / "bot.db"}"
[slack]
api_url = "{slack_url}"
bot_token = "{SLACK_TOKEN}"
signing_secret = "{SIGNING_SECRET}"
[discord]
public_key = "{PUBLIC_KEY}"
[inspector]
token = "{INSPECTOR_TOKEN}"
[sources.github]
provider = "github"
secret = "{GITHUB_SECRET}"
[sources.stripe]
provider = "stripe"
secret = "{STRIPE_SECRET}"
[sources.alertmanager]
provider = "alertmanager"
token = "{AM_TOKEN}"
[sources.generic]
provider = "generic"
secret = "{STANDARD_SECRET}"
[targets.eng]
slack = "#eng"
[[routes]]
to = ["eng"]
"""


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def bad_requests(now: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(method, path, body, headers): each one refused, each body carrying the marker."""
    body = f'{{"title": "{BODY}", "id": "evt_1", "type": "ping"}}'.encode()
    form = f"team_id=T0FAKE&user_id=U1&channel_id=C1&command=%2Fnotify&text={BODY}".encode()
    slack_signed = SignatureVerifier(GUESS).generate_signature(timestamp=str(now), body=form)
    github = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-forged"}
    return [
        (
            "POST",
            "/hooks/github",
            body,
            {**github, "X-Hub-Signature-256": "sha256=" + _hex(GUESS, body)},
        ),
        ("POST", "/hooks/github", body, {**github, "X-Hub-Signature-256": "sha256=" + GUESS}),
        ("POST", "/hooks/github", b"{" + BODY.encode(), {**github}),
        ("POST", "/hooks/stripe", body, stripe(body, now, "whsec_" + GUESS)),
        ("POST", "/hooks/stripe", body, stripe(body, now - 3600, STRIPE_SECRET)),
        ("POST", "/hooks/alertmanager", body, bearer(GUESS)),
        ("POST", "/hooks/generic", body, standard_webhooks(body, now, secret="whsec_" + "A" * 32)),
        ("POST", "/hooks/nowhere", body, {"Authorization": f"Bearer {GUESS}"}),
        (
            "POST",
            "/slack/commands",
            form,
            {
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": slack_signed,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        ),
        (
            "POST",
            "/slack/events",
            body,
            {"X-Slack-Request-Timestamp": "x", "X-Slack-Signature": GUESS},
        ),
        (
            "POST",
            "/discord/interactions",
            body,
            {"X-Signature-Ed25519": "ab" * 32, "X-Signature-Timestamp": str(now)},
        ),
        ("GET", f"/inspect?token={GUESS}", b"", {}),
        ("GET", "/inspect", b"", {"Authorization": f"Bearer {GUESS}"}),
        ("GET", "/inspect", b"", {"Cookie": f"bot_inspector={GUESS}"}),
    ]


async def test_bad_requests_leave_no_secret_signature_or_body_in_any_log_line(tmp_path):
    fake = FakeSlack(token=SLACK_TOKEN)
    slack = TestServer(fake.app, host="127.0.0.1")
    await slack.start_server()
    path = tmp_path / "bot.toml"
    path.write_text(config(tmp_path, str(slack.make_url("/api/"))))
    bot = BotProcess(path, tmp_path / "bot.log", env={"LOG_LEVEL": "DEBUG"})
    await bot.start()
    now = int(time.time())
    sent = bad_requests(now)
    try:
        async with aiohttp.ClientSession() as session:
            for method, where, body, headers in sent:
                async with session.request(
                    method, bot.url + where, data=body, headers=headers, allow_redirects=False
                ) as response:
                    assert 400 <= response.status < 500, (where, response.status)
    finally:
        bot.terminate()
        await slack.close()

    text = bot.log.read_text()
    assert "rejected" in text  # the refusals were logged, just without what they carried
    secrets = [GITHUB_SECRET, STRIPE_SECRET, AM_TOKEN, SLACK_TOKEN, SIGNING_SECRET]
    secrets += [INSPECTOR_TOKEN, GUESS, BODY, STANDARD_SECRET.removeprefix("whsec_")]
    signatures = [
        piece
        for _, _, _, headers in sent
        for name, value in headers.items()
        if "signature" in name.lower()
        for piece in value.replace(",", "=").split("=")
        if len(piece) >= 16
    ]
    assert len(signatures) >= 6
    for needle in secrets + signatures:
        assert needle not in text, needle
