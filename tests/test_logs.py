"""Logs from a real ``serve``: one JSON line per state change, and never a secret."""

from __future__ import annotations

import hashlib
import hmac
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import eventually, fixture_bytes, github_headers
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess

pytestmark = pytest.mark.slow

GITHUB_SECRET = "gh-webhook-secret-7Qx9"
WRONG_SECRET = "an-attacker-guess-4Kd2"
SLACK_TOKEN = "xoxb-2048-4096-LogsNeverShowThis"
SIGNING_SECRET = "slack-signing-secret-Zr81"
QUERY_TOKEN = "query-string-token-Pm33"
INSPECTOR_TOKEN = "inspector-token-Lg55"


def write_config(tmp_path, slack_url: str):
    path = tmp_path / "bot.toml"
    path.write_text(f"""
[server]
access_log = true
[store]
url = "sqlite:///{tmp_path / "bot.db"}"
[slack]
api_url = "{slack_url}"
[sources.github]
provider = "github"
[targets.eng]
slack = "#eng"
[[routes]]
to = ["eng"]
""")
    return path


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def lines_of(log_text: str) -> list[dict]:
    return [json.loads(line) for line in log_text.splitlines() if line.strip()]


async def test_state_changes_are_json_lines_without_secrets(tmp_path):
    fake = FakeSlack(token=SLACK_TOKEN)
    slack = TestServer(fake.app, host="127.0.0.1")
    await slack.start_server()
    config = write_config(tmp_path, str(slack.make_url("/api/")))
    bot = BotProcess(
        config,
        tmp_path / "bot.log",
        env={
            "BOT_SOURCES__GITHUB__SECRET": GITHUB_SECRET,
            "BOT_SLACK__BOT_TOKEN": SLACK_TOKEN,
            "BOT_SLACK__SIGNING_SECRET": SIGNING_SECRET,
            "BOT_INSPECTOR__TOKEN": INSPECTOR_TOKEN,
        },
    )
    pr = fixture_bytes("github/pull_request__opened.json")
    push = fixture_bytes("github/push.json")
    answers: list[str] = []
    await bot.start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:

            async def post(path: str, body: bytes, headers: dict) -> int:
                async with session.post(f"{bot.url}{path}", data=body, headers=headers) as r:
                    answers.append(await r.text())
                    return r.status

            hook = "/hooks/github"
            signed = github_headers(pr, "pull_request", "d-1", GITHUB_SECRET)
            assert await post(hook, pr, signed) == 200
            await fake.wait_for(1)
            forged = github_headers(push, "push", "d-2", WRONG_SECRET)
            assert await post(hook, push, forged) == 401
            fake.fail_next(error="invalid_auth")
            signed = github_headers(push, "push", "d-3", GITHUB_SECRET)
            assert await post(f"{hook}?token={QUERY_TOKEN}", push, signed) == 200
            async with session.get(f"{bot.url}/metrics") as r:
                answers.append(await r.text())
            async with session.get(f"{bot.url}/inspect?token={INSPECTOR_TOKEN}") as r:
                assert r.status == 200  # the cookie it set was sent after the redirect
                answers.append(await r.text())

            async def logged(message: str) -> bool:
                return any(e["message"] == message for e in lines_of(bot.log.read_text()))

            assert await eventually(lambda: logged("dead"))
            bearer = {"Authorization": f"Bearer {INSPECTOR_TOKEN}"}
            async with session.get(f"{bot.url}/inspect?text=d-3", headers=bearer) as r:
                answers.append(await r.text())
                assert "slack error: invalid_auth" in answers[-1]
    finally:
        bot.terminate()
        await slack.close()

    text = bot.log.read_text()
    entries = lines_of(text)  # every line is one JSON object
    secrets = [GITHUB_SECRET, WRONG_SECRET, SLACK_TOKEN, SIGNING_SECRET, QUERY_TOKEN]
    secrets.append(INSPECTOR_TOKEN)
    signatures = [signature(pr, GITHUB_SECRET), signature(push, WRONG_SECRET)]
    signatures.append(signature(push, GITHUB_SECRET))
    for secret in secrets + signatures:
        assert secret not in text
        assert not any(secret in answer for answer in answers)

    def one(message: str, **fields) -> dict:
        [entry] = [
            e
            for e in entries
            if e["message"] == message and all(e.get(k) == v for k, v in fields.items())
        ]
        return entry

    accepted = one("accepted", delivery_id="d-1")
    assert accepted["source"] == "github" and accepted["outcome"] == "accepted"
    assert accepted["latency_ms"] >= 0
    rejected = one("rejected")
    assert rejected["reason"] == "X-Hub-Signature-256 does not match the configured secret"
    routed = one("routed", type="pull_request.opened")
    delivered = one("delivered")
    dead = one("dead")
    for entry in (routed, delivered, dead):
        assert entry["source"] == "github"
        assert entry["event_id"].count(".") == 1
        assert entry["latency_ms"] >= 0
    assert delivered["event_id"] == routed["event_id"]
    assert (delivered["type"], delivered["target"], delivered["outcome"]) == (
        "pull_request.opened",
        "eng",
        "delivered",
    )
    assert (dead["type"], dead["target"], dead["error"]) == (
        "push.tag",
        "eng",
        "slack error: invalid_auth",
    )
    assert any(e["message"] == "http" and e["path"] == "/hooks/github" for e in entries)
