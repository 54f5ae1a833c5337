"""A signed GitHub webhook becomes a Slack message: the whole path over real sockets."""

from __future__ import annotations

import json

from tests.conftest import base_config, fixture_bytes, github_headers


async def test_pull_request_opened_reaches_slack(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    body = fixture_bytes("github/pull_request__opened.json")

    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "pull_request", "d-1")
    )

    assert response.status == 200
    assert (await response.json())["status"] == "accepted"
    [post] = await fake_slack.wait_for(1)
    payload = json.loads(body)
    assert post.body["channel"] == "#eng"
    assert post.body["text"] == "🔵 Opened by Codertocat · changes → master"
    assert payload["pull_request"]["title"] in json.dumps(post.body["attachments"])
    assert post.body["unfurl_links"] is False
    blocks = json.dumps(post.body["attachments"])
    assert payload["pull_request"]["html_url"] in blocks
    assert "This is a pretty simple change" in blocks  # the description under the title


async def test_redelivery_is_acknowledged_but_posted_once(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    body = fixture_bytes("github/push.json")
    headers = github_headers(body, "push", "same-delivery")

    first = await (await bot.post("/hooks/github", data=body, headers=headers)).json()
    second = await (await bot.post("/hooks/github", data=body, headers=headers)).json()

    assert first["status"] == "accepted"
    assert second == {"status": "duplicate", "id": first["id"]}
    await fake_slack.wait_for(1)
    third = body.replace(b'"ref"', b'"ref" ', 1)
    await bot.post("/hooks/github", data=third, headers=github_headers(third, "push", "other"))
    await fake_slack.wait_for(2)
    assert len(fake_slack.posts()) == 2
