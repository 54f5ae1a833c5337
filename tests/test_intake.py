"""The HTTP contract of POST /hooks/{source}: every answer a sender can get."""

from __future__ import annotations

from bot.intake.web import STORE
from tests.conftest import base_config, dumps, eventually, fixture_bytes, github_headers


async def test_wrong_signature_is_401_counted_and_stores_nothing(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    body = fixture_bytes("github/push.json")
    headers = github_headers(body, "push", "d-1", secret="wrong secret")

    response = await bot.post("/hooks/github", data=body, headers=headers)

    assert response.status == 401
    assert "does not match" in (await response.json())["error"]
    store = bot.app[STORE]
    assert await store.counts() == {}
    [rejection] = await store.rejections()
    assert rejection["source"] == "github" and rejection["count"] == 1
    assert rejection["reason"].startswith("X-Hub-Signature-256 does not match")  # for people
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_requests_rejected_total{reason="bad_signature",source="github"} 1.0' in metrics
    assert "wrong secret" not in metrics


async def test_missing_signature_is_401(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    response = await bot.post("/hooks/github", data=b"{}", headers={"X-GitHub-Event": "push"})
    assert response.status == 401


async def test_unknown_source_is_404(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    assert (await bot.post("/hooks/gitlab", data=b"{}")).status == 404


async def test_oversized_body_is_413(tmp_path, make_bot):
    config = base_config(tmp_path, server={"max_body_bytes": 1000})
    bot = await make_bot(config)
    body = b'{"x": "' + b"a" * 5000 + b'"}'
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "push", "big")
    )
    assert response.status == 413


async def test_malformed_json_is_400_with_the_parse_error(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    body = b'{"action": "opened",'
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "pull_request", "bad")
    )
    assert response.status == 400
    assert "not JSON" in (await response.json())["error"]
    assert await bot.app[STORE].counts() == {}


async def test_invalid_utf8_is_400_not_500(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    body = b'{"a": "\xff\xfe"}'
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "push", "utf")
    )
    assert response.status == 400


async def test_ping_and_unknown_events_are_accepted_and_recorded_as_ignored(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    ping = fixture_bytes("github/ping.json")
    weird = dumps({"action": "teleported", "repository": {"full_name": "a/b"}})

    answers = [
        await bot.post("/hooks/github", data=ping, headers=github_headers(ping, "ping", "p")),
        await bot.post("/hooks/github", data=weird, headers=github_headers(weird, "quantum", "q")),
    ]

    assert [r.status for r in answers] == [200, 200]
    store = bot.app[STORE]

    async def both_ignored():
        return (await store.counts()).get("inbox_ignored") == 2

    assert await eventually(both_ignored)
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_events_total{outcome="ignored",source="github"} 2.0' in metrics


async def test_health_and_readiness(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    assert (await bot.get("/healthz")).status == 200
    assert (await (await bot.get("/readyz")).json())["status"] == "ready"


async def test_inbox_keeps_no_signature_header(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    body = fixture_bytes("github/push.json")
    answer = await (
        await bot.post("/hooks/github", data=body, headers=github_headers(body, "push", "h"))
    ).json()
    item = await bot.app[STORE].get_inbox(int(answer["id"]))
    assert item.body == body
    assert "x-hub-signature-256" not in item.headers
    assert item.headers["x-github-event"] == "push"
