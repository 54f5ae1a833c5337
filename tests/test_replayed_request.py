"""A captured, signed request sent again under a new delivery id is a duplicate: for
senders whose delivery id is not covered by the signature (GitHub's X-GitHub-Delivery, a
custom HMAC's webhook-id), the body's digest identifies the request as well."""

from __future__ import annotations

import hashlib
import hmac

from tests.conftest import base_config, github_headers, issue_body

CUSTOM_SECRET = "custom-hmac-secret-for-replays"


async def test_a_signed_github_request_with_a_fresh_delivery_id_is_a_duplicate(
    tmp_path, fake_slack, make_bot
):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    body = issue_body(1)
    captured = github_headers(body, "issues", "d-genuine")

    first = await bot.post("/hooks/github", data=body, headers=captured)
    replayed = {**captured, "X-GitHub-Delivery": "d-attacker-fresh"}
    again = await bot.post("/hooks/github", data=body, headers=replayed)
    other = issue_body(2)
    new = await bot.post(
        "/hooks/github", data=other, headers=github_headers(other, "issues", "d-2")
    )

    assert (await first.json())["status"] == "accepted"
    answer = await again.json()
    assert again.status == 200 and answer == {
        "status": "duplicate",
        "id": (await first.json())["id"],
    }
    assert (await new.json())["status"] == "accepted"
    posts = await fake_slack.wait_for(2)
    assert ["issue 1" in str(p.body) for p in posts].count(True) == 1


async def test_a_custom_hmac_request_with_a_fresh_webhook_id_is_a_duplicate(tmp_path, make_bot):
    config = base_config(tmp_path)
    config["sources"]["deploys"] = {
        "provider": "generic",
        "secret": CUSTOM_SECRET,
        "signature_header": "X-Signature",
    }
    bot = await make_bot(config)
    body = b'{"title": "deployed api 1.2"}'
    signature = hmac.new(CUSTOM_SECRET.encode(), body, hashlib.sha256).hexdigest()

    async def send(webhook_id: str) -> str:
        headers = {"X-Signature": signature, "webhook-id": webhook_id}
        response = await bot.post("/hooks/deploys", data=body, headers=headers)
        assert response.status == 200, await response.text()
        return str((await response.json())["status"])

    assert await send("msg-1") == "accepted"
    assert await send("msg-forged") == "duplicate"
