"""The inspector over HTTP: who gets in, what leaves the URL, what a replay needs."""

from __future__ import annotations

import time

from bot.intake.web import STORE
from bot.store import MuteRecord, RerouteRecord
from tests.conftest import (
    DISCORD_WEBHOOK,
    DISCORD_WEBHOOK_ID,
    DISCORD_WEBHOOK_TOKEN,
    base_config,
    discord_section,
    dumps,
    eventually,
    fixture_bytes,
    github_headers,
)

TOKEN = "inspector-token-Wq71"


async def inspector_bot(tmp_path, fake_slack, make_bot):
    return await make_bot(base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN}))


async def post(bot, body: bytes, event: str, delivery: str) -> None:
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, event, delivery)
    )
    assert response.status == 200


async def test_inspector_is_off_without_a_token(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    response = await bot.get("/inspect", headers={"Authorization": "Bearer "})
    assert response.status == 404


async def test_requests_without_the_right_token_get_401(tmp_path, fake_slack, make_bot):
    bot = await inspector_bot(tmp_path, fake_slack, make_bot)
    fake_slack.fail_next(error="channel_not_found")
    await post(bot, fixture_bytes("github/push.json"), "push", "d-1")
    assert await eventually(bot.app[STORE].dead_letters)

    attempts = [
        bot.get("/inspect"),
        bot.get("/inspect", headers={"Authorization": "Bearer wrong"}),
        bot.get("/inspect", headers={"Authorization": f"Basic {TOKEN}"}),
        bot.get("/inspect", headers={"Cookie": f"bot_inspector={TOKEN}"}),
        bot.get("/inspect?token=wrong", allow_redirects=False),
        bot.post("/inspect/replay", data={"id": "1.0/eng"}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status == 401
        assert "Set-Cookie" not in response.headers
        assert TOKEN not in await response.text()
    [dead] = await bot.app[STORE].dead_letters()
    assert dead["id"] == "1.0/eng"  # the refused replay queued nothing


async def test_token_in_the_url_becomes_a_strict_cookie_and_leaves_the_url(
    tmp_path, fake_slack, make_bot
):
    bot = await inspector_bot(tmp_path, fake_slack, make_bot)

    response = await bot.get(f"/inspect?state=failed&token={TOKEN}", allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == "/inspect?state=failed"
    cookie = response.cookies["bot_inspector"]
    assert cookie.value and TOKEN not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/inspect"
    page = await bot.get("/inspect?state=failed")  # the client keeps the cookie
    assert page.status == 200
    assert "Latest events" in await page.text()
    assert page.headers["Referrer-Policy"] == "no-referrer"

    # A link clicked in a chat: browsers hold back Strict cookies on that redirect chain.
    cross = await bot.get(
        f"/inspect?token={TOKEN}", headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False
    )
    assert cross.status == 200
    assert 'http-equiv="refresh" content="0;url=/inspect"' in await cross.text()
    crossed = cross.cookies["bot_inspector"].value
    assert crossed and TOKEN not in crossed


async def test_replay_with_the_cookie_needs_the_form_token(tmp_path, fake_slack, make_bot):
    bot = await inspector_bot(tmp_path, fake_slack, make_bot)
    fake_slack.fail_next(error="channel_not_found")
    await post(bot, fixture_bytes("github/push.json"), "push", "d-1")
    assert await eventually(bot.app[STORE].dead_letters)
    await bot.get(f"/inspect?token={TOKEN}")

    forged = await bot.post("/inspect/replay", data={"id": "1.0/eng"}, allow_redirects=False)
    assert forged.status == 403
    assert fake_slack.posts() == []

    page = await (await bot.get("/inspect")).text()
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    replayed = await bot.post(
        "/inspect/replay", data={"id": "1.0/eng", "csrf": csrf}, allow_redirects=False
    )
    assert replayed.status == 303
    assert replayed.headers["Location"].startswith("/inspect?notice=Queued+delivery+1.0%2Feng")
    await fake_slack.wait_for(1)


async def test_scripts_replay_with_the_bearer_token(tmp_path, fake_slack, make_bot):
    bot = await inspector_bot(tmp_path, fake_slack, make_bot)
    fake_slack.fail_next(error="channel_not_found")
    await post(bot, fixture_bytes("github/push.json"), "push", "d-1")
    assert await eventually(bot.app[STORE].dead_letters)

    response = await bot.post(
        "/inspect/replay",
        data={"id": "1.0"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        allow_redirects=False,
    )

    assert response.status == 303
    assert "Queued+event+1.0" in response.headers["Location"]
    await fake_slack.wait_for(1)


async def test_payload_text_cannot_inject_markup(tmp_path, fake_slack, make_bot):
    bot = await inspector_bot(tmp_path, fake_slack, make_bot)
    hostile = dumps(
        {
            "action": "opened",
            "issue": {
                "number": 7,
                "title": '<script>alert("t")</script><img src=x onerror=alert(1)>',
                "html_url": "javascript:alert(document.cookie)",
                "labels": [],
            },
            "repository": {"full_name": "a/b"},
            "sender": {"login": "mallory"},
        }
    )
    await post(bot, hostile, "issues", "evil")
    await fake_slack.wait_for(1)

    page = await bot.get("/inspect", headers={"Authorization": f"Bearer {TOKEN}"})
    html = await page.text()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]


async def test_unrouted_event_offers_to_route_its_request_again(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN})
    config["routes"] = [{"match": {"event": "pull_request.*"}, "to": ["eng"]}]
    bot = await make_bot(config)
    await post(bot, fixture_bytes("github/star__created.json"), "star", "s-1")
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def unrouted() -> str | None:
        html = await (await bot.get("/inspect?state=unrouted", headers=auth)).text()
        return html if "star.created" in html else None

    html = await eventually(unrouted)
    assert "matched no route: stored, not posted" in html
    assert 'name="id" value="1"' in html and "Re-route request" in html


async def test_mutes_and_reroutes_show_in_the_route_decision(tmp_path, fake_slack, make_bot):
    config = base_config(tmp_path, fake_slack.url, inspector={"token": TOKEN})
    config["targets"]["ops"] = {"slack": "#ops"}
    bot = await make_bot(config)
    store = bot.app[STORE]
    now = time.time()
    common = {"creator": "slack:U1 (alice)", "created_at": now, "expires_at": now + 3600}
    await store.add_mute(
        MuteRecord(
            selector={"event": ["push*"]},
            platform="slack",
            channel="",
            channel_name="",
            everywhere=True,
            reason="deploy freeze",
            **common,
        )
    )
    await store.add_reroute(
        RerouteRecord(
            selector={"event": ["star.*"]},
            target="ops",
            platform="slack",
            address="#ops",
            label="ops",
            **common,
        )
    )
    await post(bot, fixture_bytes("github/push.json"), "push", "m-1")
    await post(bot, fixture_bytes("github/star__created.json"), "star", "r-1")
    await fake_slack.wait_for(1)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    muted = await (await bot.get("/inspect?state=muted", headers=auth)).text()
    assert "push.tag" in muted and "star.created" not in muted
    assert "muted by m1 because deploy freeze" in muted

    rerouted = await (await bot.get("/inspect?text=star", headers=auth)).text()
    assert "<dt>rerouted_by</dt><dd>r1</dd>" in rerouted
    assert "→ ops · slack #ops · sent" in rerouted


async def test_a_discord_webhook_shows_without_its_token(tmp_path, fake_discord, make_bot):
    config = base_config(
        tmp_path,
        discord=discord_section(fake_discord),
        targets={"hook": {"discord_webhook": DISCORD_WEBHOOK}},
        routes=[{"to": ["hook"]}],
        inspector={"token": TOKEN},
    )
    bot = await make_bot(config)
    await post(bot, fixture_bytes("github/push.json"), "push", "w-1")
    await fake_discord.wait_until(lambda: fake_discord.delivered())

    html = await (await bot.get("/inspect", headers={"Authorization": f"Bearer {TOKEN}"})).text()

    assert f"/webhooks/{DISCORD_WEBHOOK_ID}/…" in html
    assert DISCORD_WEBHOOK_TOKEN not in html
